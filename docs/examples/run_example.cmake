# Runs one example (EXE) and fails unless it exits with 0 and its output matches every
# regular expression in EXPECT (a CMake list): an example that prints the wrong thing is a
# failing test, not a passing one. An example that prints SKIPPED: (no server) is reported
# as skipped through the test's SKIP_REGULAR_EXPRESSION, or fails when the environment
# says servers are required (GENCACHE_REQUIRE_SERVERS, set by scripts/test.sh).
# STORE_URL_FROM names a variable whose URL becomes the example's GENCACHE_STORE_URL, with a
# prefix of this run's own (skipped when it is unset, like the remote examples).
if(DEFINED STORE_URL_FROM)
  if(NOT DEFINED ENV{${STORE_URL_FROM}})
    if(DEFINED ENV{GENCACHE_REQUIRE_SERVERS})
      message(FATAL_ERROR "${STORE_URL_FROM} is unset, but GENCACHE_REQUIRE_SERVERS is set")
    endif()
    message("SKIPPED: set ${STORE_URL_FROM} to run this example on that store")
    return()
  endif()
  string(RANDOM LENGTH 12 run)
  set(ENV{GENCACHE_STORE_URL} "$ENV{${STORE_URL_FROM}}?prefix=example-${run}:")
endif()
execute_process(COMMAND ${EXE} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(out MATCHES "^SKIPPED: " AND DEFINED ENV{GENCACHE_REQUIRE_SERVERS})
  # Not echoed: the skip marker would make ctest report a skip.
  message(FATAL_ERROR "${EXE} found no server, but GENCACHE_REQUIRE_SERVERS is set")
endif()
message("${out}${err}")
if(out MATCHES "^SKIPPED: ")
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}")
endif()
foreach(expected IN LISTS EXPECT)
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "${EXE} did not print what the docs say: no match for '${expected}'")
  endif()
endforeach()
