# Installs the built project into a scratch prefix, then configures, builds and runs the
# consumers of tests/package against it:
# - memory: with pkg-config able to find liburcu-bp only, and the client libraries' header
#   directories ignored, as on a machine without hiredis and libmemcached;
# - redis and prometheus (when the install has them) and any: with the machine as it is.
# Arguments: BUILD_DIR, CONSUMER_DIR, WORK_DIR, GENERATOR, CXX_FLAGS (the sanitizer presets'
# flags, which the consumer must share to link), WITH_REDIS, WITH_PROMETHEUS.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "package test: step failed (${result}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")

# pkg-config sees liburcu-bp's file alone.
execute_process(COMMAND pkg-config --variable=pcfiledir liburcu-bp
  OUTPUT_VARIABLE urcu_dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE found)
if(NOT found EQUAL 0)
  message(FATAL_ERROR "package test: pkg-config cannot find liburcu-bp")
endif()
file(MAKE_DIRECTORY "${WORK_DIR}/pkgconfig")
file(COPY "${urcu_dir}/liburcu-bp.pc" DESTINATION "${WORK_DIR}/pkgconfig")
step(${CMAKE_COMMAND} -E env "PKG_CONFIG_LIBDIR=${WORK_DIR}/pkgconfig" PKG_CONFIG_PATH=
  ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/memory" -G "${GENERATOR}"
  -DGENCACHE_CONSUMER=memory "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_IGNORE_PATH=/usr/include/hiredis;/usr/include/libmemcached;/usr/include/libmemcached-1.0")
step(${CMAKE_COMMAND} --build "${WORK_DIR}/memory")
step("${WORK_DIR}/memory/consumer")

# A consumer built with the machine as it is: configured, built and run.
function(consumer kind)
  step(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/${kind}" -G "${GENERATOR}"
    -DGENCACHE_CONSUMER=${kind} "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
  step(${CMAKE_COMMAND} --build "${WORK_DIR}/${kind}")
  step("${WORK_DIR}/${kind}/consumer")
endfunction()

if(WITH_REDIS)
  consumer(redis)
endif()
consumer(any)
if(WITH_PROMETHEUS)
  consumer(prometheus)
endif()
