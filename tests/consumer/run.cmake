# Builds and runs the consumer project in this directory against muster, the
# way a user of muster would:
#
#   MODE=find_package      install MUSTER_BUILD_DIR into a scratch prefix, then
#                          find_package(muster) from there;
#   MODE=add_subdirectory  add muster's source tree as a subdirectory;
#   MODE=deploy            install as for find_package, build the functions of
#                          deploy/ into Lambda zips with muster_add_lambda,
#                          unpack each into an empty directory and run it with
#                          the installed `muster invoke`: inside a chroot of
#                          that directory when run as root (proof that it needs
#                          nothing from this machine), directly otherwise.
#
# Usage: cmake -DMODE=... -DMUSTER_SOURCE_DIR=... [-DMUSTER_BUILD_DIR=...]
#              -DWORK_DIR=... [-DCONFIG=...] [-DGENERATOR=...]
#              [-DCXX_COMPILER=...] [-DCXX_FLAGS=...] [-DEXE_LINKER_FLAGS=...] -P run.cmake
# Every step that fails stops the script with a non-zero exit code.
cmake_minimum_required(VERSION 3.25)

foreach(required MODE MUSTER_SOURCE_DIR WORK_DIR)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "run.cmake: -D${required}=... is required")
    endif()
endforeach()

function(run_step name)
    message(STATUS "consumer (${MODE}): ${name}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result COMMAND_ECHO STDOUT)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "consumer (${MODE}): ${name} failed (${result})")
    endif()
endfunction()

set(consumer_dir ${CMAKE_CURRENT_LIST_DIR})
if(MODE STREQUAL "deploy")
    set(consumer_dir ${CMAKE_CURRENT_LIST_DIR}/deploy)
endif()
set(build_dir ${WORK_DIR}/build)
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${build_dir} ${prefix})

set(config_args)
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()

set(configure_args -S ${consumer_dir} -B ${build_dir})
if(GENERATOR)
    list(APPEND configure_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
    list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(CXX_FLAGS)
    list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
if(EXE_LINKER_FLAGS)
    list(APPEND configure_args "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
endif()
if(CONFIG)
    list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONFIG})
endif()

if(MODE STREQUAL "find_package" OR MODE STREQUAL "deploy")
    if(NOT DEFINED MUSTER_BUILD_DIR)
        message(FATAL_ERROR "run.cmake: MODE=find_package needs -DMUSTER_BUILD_DIR=...")
    endif()
    run_step("install" ${CMAKE_COMMAND} --install ${MUSTER_BUILD_DIR} --prefix ${prefix} ${config_args})
    list(APPEND configure_args -DCMAKE_PREFIX_PATH=${prefix})
elseif(MODE STREQUAL "add_subdirectory")
    list(APPEND configure_args -DMUSTER_CONSUMER_ADD_SUBDIRECTORY=${MUSTER_SOURCE_DIR})
else()
    message(FATAL_ERROR "run.cmake: unknown MODE '${MODE}'")
endif()

run_step("configure" ${CMAKE_COMMAND} ${configure_args})
run_step("build" ${CMAKE_COMMAND} --build ${build_dir} ${config_args})

if(MODE STREQUAL "deploy")
    include(${consumer_dir}/check.cmake)
    return()
endif()

# Single-config generators put the program in the build directory,
# multi-config ones in a subdirectory named after the configuration.
find_program(consumer_program muster_consumer
    PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
run_step("run" ${consumer_program})
if(MODE STREQUAL "find_package")
    find_program(lambda_consumer muster_lambda_consumer
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    # Without AWS_LAMBDA_RUNTIME_API the runtime refuses to start (exit 1,
    # which the program turns into 0).
    run_step("run the Lambda consumer" ${CMAKE_COMMAND} -E env --unset=AWS_LAMBDA_RUNTIME_API
        ${lambda_consumer})
    find_program(http_consumer muster_http_consumer
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    run_step("run the HTTP consumer" ${http_consumer})
    find_program(process_pool_consumer muster_process_pool_consumer
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    # One task through a worker process of the installed library.
    run_step("run the process pool consumer" ${process_pool_consumer})
    find_program(aws_consumer muster_aws_consumer
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    run_step("run the AWS consumer" ${aws_consumer})
    find_program(co_await_consumer muster_co_await_consumer
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    run_step("run the co_await consumer" ${co_await_consumer})
    find_program(header_examples muster_header_examples
        PATHS ${build_dir} ${build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    run_step("run the header examples (process_pool.hpp's)" ${header_examples})

    # muster::core alone, with OpenSSL and zlib made unfindable: finding the
    # core must not need what only the compiled components need.
    set(core_only_build_dir ${WORK_DIR}/build-core-only)
    file(REMOVE_RECURSE ${core_only_build_dir})
    set(core_only_args ${configure_args})
    list(REMOVE_AT core_only_args 0 1 2 3)  # -S <consumer_dir> -B <build_dir>
    run_step("configure the core-only consumer" ${CMAKE_COMMAND}
        -S ${consumer_dir}/core_only -B ${core_only_build_dir} ${core_only_args}
        -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=TRUE)
    run_step("build the core-only consumer" ${CMAKE_COMMAND} --build ${core_only_build_dir} ${config_args})
    find_program(core_only_consumer muster_core_only_consumer
        PATHS ${core_only_build_dir} ${core_only_build_dir}/${CONFIG} NO_DEFAULT_PATH NO_CACHE REQUIRED)
    run_step("run the core-only consumer" ${core_only_consumer})
endif()
