# Writes OUT, the schema's ErrorCode list as an X-macro include for C++
# code that must not depend on flatbuffers (the core) or must name each
# code (the C++ client): one line BOCD_ERROR(WireName, snake_name) per
# code, in value order. Run as: cmake -DSCHEMA=... -DOUT=... -P this file.
# Hand-written because flatc has no generator for such a list; the schema
# stays the one place a code is added.
file(READ "${SCHEMA}" text)
string(REGEX MATCH "enum ErrorCode : ushort {([^}]*)}" _ "${text}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "${SCHEMA}: no 'enum ErrorCode : ushort { ... }'")
endif()
string(REGEX REPLACE "//[^\n]*" "" body "${CMAKE_MATCH_1}")
string(REGEX MATCHALL "[A-Za-z][A-Za-z0-9]*( *= *[0-9]+)?" entries "${body}")
set(out "// Generated from ${SCHEMA} by proto/error_list.cmake; do not edit.\n")
set(expected 0)
foreach(entry IN LISTS entries)
  string(REGEX MATCH "^[A-Za-z0-9]+" name "${entry}")
  if(entry MATCHES "= *([0-9]+)$" AND NOT CMAKE_MATCH_1 EQUAL expected)
    message(FATAL_ERROR "${SCHEMA}: ErrorCode ${name} must be ${expected}: "
                        "codes are dense from 0")
  endif()
  string(REGEX REPLACE "([a-z0-9])([A-Z])" "\\1_\\2" snake "${name}")
  string(TOLOWER "${snake}" snake)
  string(APPEND out "BOCD_ERROR(${name}, ${snake})\n")
  math(EXPR expected "${expected} + 1")
endforeach()
# Rewritten only on change (file(CONFIGURE) compares), so dependents
# rebuild only when the list does. Nothing in it looks like @VAR@.
file(CONFIGURE OUTPUT "${OUT}" CONTENT "${out}" @ONLY)
