// The program's fast path for a plain @when (bocd._core.when_plain): a
// function whose parameters are its cowns (single cowns), then at most
// scalar defaults, turned into a Submit and a result cown without running
// Python per step; and the general path's submit (submit_behavior).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bocd/client/client.h"

// Adds plain_setup, when_plain and submit_behavior to the module
// (plain_when.cc).
void register_plain_when(pybind11::module_& m);

// Submits a behavior to the workers over `session` (a bocd._core.Session)
// as Session.submit does with a result cown and the code at offset 20:
// returns the result cown's id. With `parent` 0 (not from a body) it first
// waits for room in flight as Session.submit does (Ctrl-C raises).
// Defined in module.cc, beside Session. Called with the GIL held.
std::uint64_t submit_plain(pybind11::handle session,
                           std::span<const bocd::client::CownRef> cowns,
                           std::string_view payload, std::uint64_t parent,
                           std::span<const std::uint64_t> refs,
                           std::span<const std::string> blobs,
                           std::uint32_t code_len, std::uint64_t code_key);
