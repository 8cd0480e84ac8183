// FunctionRef: a non-owning reference to a callable, two words wide, so a
// virtual function can take a lambda without allocating or copying it.
//
// Hand-written because nothing this library may depend on has one: std's
// function_ref arrives in C++26, Boost 1.74 has none, and std::function
// may allocate for a lambda that captures more than a pointer or two.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace bocd::client {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  // Refers to `f`, which must outlive every call through this reference
  // (pass it as a temporary argument: it lives until the call returns).
  template <class F,
            class = std::enable_if_t<
                !std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, like std::function
      : object_(const_cast<void*>(
            static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(
              std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const {
    return call_(object_, std::forward<Args>(args)...);
  }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace bocd::client
