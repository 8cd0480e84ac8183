# Writes OUT, the fields of the schema's SessionInfo table (one session's
# line of `bocd status`) as an X-macro include: one line
# BOCD_SESSION_FIELD(name, type) per field in schema order, `type` being
# the schema's type name (ulong, uint, int, long, string, Role). The
# daemon's encoder, the C++ client's SessionStatus and decoder, the admin
# CLI's text and JSON and the Python binding expand it, so a new field is
# one edit in the schema (plus the core computing it, which the encoder's
# compile forces). Run as: cmake -DSCHEMA=... -DOUT=... -P this file.
# Hand-written because flatc has no generator for such a list.
file(READ "${SCHEMA}" text)
string(REGEX MATCH "table SessionInfo {([^}]*)}" _ "${text}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "${SCHEMA}: no 'table SessionInfo { ... }'")
endif()
string(REGEX REPLACE "//[^\n]*" "" body "${CMAKE_MATCH_1}")
string(REGEX MATCHALL "[a-z_0-9]+ *: *[A-Za-z0-9_]+" fields "${body}")
set(out "// Generated from ${SCHEMA} by proto/session_fields.cmake; do not edit.\n")
foreach(field IN LISTS fields)
  string(REGEX REPLACE " *: *" ";" pair "${field}")
  list(GET pair 0 name)
  list(GET pair 1 type)
  string(APPEND out "BOCD_SESSION_FIELD(${name}, ${type})\n")
endforeach()
# Rewritten only on change (file(CONFIGURE) compares), so dependents
# rebuild only when the list does. Nothing in it looks like @VAR@.
file(CONFIGURE OUTPUT "${OUT}" CONTENT "${out}" @ONLY)
