# gencache-bench end to end: bad options exit 2 with one line, an unreachable server among
# others is skipped, and --json / --chart write their files. -DBENCH=<path> -DWORK=<dir>
# -DREMOTE=<an unreachable URL of a store this build has; empty when it has none>,
# -DPROMETHEUS=<1 when gencache-bench can serve metrics>.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

function(expect_failure)
  execute_process(COMMAND "${BENCH}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(STRIP "${err}" err)
  string(FIND "${err}" "\n" newline)
  if(NOT rc EQUAL 2 OR NOT newline EQUAL -1 OR NOT err MATCHES "^gencache-bench: ")
    message(FATAL_ERROR "${ARGN}: expected status 2 and one line, got ${rc}: '${err}'")
  endif()
endfunction()

expect_failure(--store mongodb://localhost)
expect_failure(--keys 0)
expect_failure(--read-ratio 2)
expect_failure(--threads 1,x)
expect_failure(--store redis://127.0.0.1:1 --ops 100)  # unreachable, or not in this build
# --metrics-port 0 serves on a free port, says where, and the run completes.
if(PROMETHEUS)
  execute_process(COMMAND "${BENCH}" --store memory --keys 500 --ops 2000 --threads 1
                          --metrics-port 0
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT err MATCHES "gencache-bench: metrics on http://127\\.0\\.0\\.1:[0-9]+/metrics")
    message(FATAL_ERROR "--metrics-port 0 (${rc}): '${err}'")
  endif()
endif()
if(NOT REMOTE)
  message(STATUS "gencache-bench: exit codes as documented (no remote store in this build)")
  return()
endif()

set(small --keys 500 --ops 2000 --threads 1,2 --invalidate-rate 50)
execute_process(COMMAND "${BENCH}" ${small} --store memory --store ${REMOTE}
                        --json "${WORK}/run.json" --chart "${WORK}/run.svg"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a run with one unreachable store failed (${rc}): ${err}")
endif()
if(NOT err MATCHES "${REMOTE}: unreachable")
  message(FATAL_ERROR "the unreachable store was not reported: '${err}'")
endif()
if(NOT out MATCHES "memory +1 " OR NOT out MATCHES "memory +2 ")
  message(FATAL_ERROR "no table rows for the memory store:\n${out}")
endif()
file(READ "${WORK}/run.json" json)
string(JSON runs LENGTH "${json}" results)
string(JSON tool GET "${json}" tool)
if(NOT runs EQUAL 2 OR NOT tool STREQUAL "gencache-bench")
  message(FATAL_ERROR "run.json: ${runs} results, tool '${tool}'")
endif()
file(READ "${WORK}/run.svg" svg)
if(NOT svg MATCHES "^<svg" OR NOT svg MATCHES "</svg>")
  message(FATAL_ERROR "run.svg is not an SVG document")
endif()
message(STATUS "gencache-bench: exit codes, skipping and files as documented")
