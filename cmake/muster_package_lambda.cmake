# Builds the zip of muster_add_lambda (run at build time):
#
#   cmake -DMODE=static|bundle -DBINARY=<function> -DNAME=<target>
#         -DSTAGE=<dir> -DOUTPUT=<zip> [-DSTRIP=<strip>]
#         [-DCXX_COMPILER=<c++> -DLAUNCHER_SOURCE=<cpp>] -P muster_package_lambda.cmake
#
# static: STAGE/bootstrap is the stripped function.
# bundle: STAGE/bin/NAME is the stripped function, STAGE/lib holds every
#         shared library it loads (from ldd) and the dynamic loader as
#         lib/ld.so, and STAGE/bootstrap is muster_lambda_launcher.cpp built
#         static, which starts bin/NAME through lib/ld.so with
#         --library-path lib.
# The zip keeps the files' modes, so bootstrap stays executable.
cmake_minimum_required(VERSION 3.25)

foreach(required MODE BINARY NAME STAGE OUTPUT)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "muster_package_lambda.cmake: -D${required}=... is required")
    endif()
endforeach()

file(REMOVE_RECURSE ${STAGE})
file(MAKE_DIRECTORY ${STAGE})

function(strip_into source destination)
    file(COPY_FILE ${source} ${destination})
    if(STRIP)
        execute_process(COMMAND ${STRIP} --strip-all ${destination} RESULT_VARIABLE result)
        if(NOT result EQUAL 0)
            message(FATAL_ERROR "muster_add_lambda: ${STRIP} ${destination} failed (${result})")
        endif()
    endif()
    file(CHMOD ${destination} FILE_PERMISSIONS
        OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endfunction()

if(MODE STREQUAL "static")
    strip_into(${BINARY} ${STAGE}/bootstrap)
    set(entries bootstrap)
elseif(MODE STREQUAL "bundle")
    file(MAKE_DIRECTORY ${STAGE}/bin ${STAGE}/lib)
    strip_into(${BINARY} ${STAGE}/bin/${NAME})
    # ldd runs the build machine's loader on the function: the libraries it
    # would load here are the ones to ship. Lines: "libfoo.so.1 => /path (0x...)"
    # for libraries, "/lib64/ld-linux-x86-64.so.2 (0x...)" for the loader.
    execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE ldd_output RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "muster_add_lambda: ldd ${BINARY} failed (${result}); "
            "BUNDLE needs a dynamically linked function built for this machine")
    endif()
    string(REPLACE "\n" ";" ldd_lines "${ldd_output}")
    set(loader)
    foreach(line IN LISTS ldd_lines)
        if(line MATCHES "^[ \t]*([^ \t]+) => (/[^ \t]+) \\(")
            file(REAL_PATH ${CMAKE_MATCH_2} library)
            file(COPY_FILE ${library} ${STAGE}/lib/${CMAKE_MATCH_1})
        elseif(line MATCHES "^[ \t]*(/[^ \t]+ld-linux[^ \t]*) \\(")
            file(REAL_PATH ${CMAKE_MATCH_1} loader)
        elseif(line MATCHES "=> not found")
            message(FATAL_ERROR "muster_add_lambda: ${BINARY} needs a library ldd cannot find: ${line}")
        endif()
    endforeach()
    if(NOT loader)
        message(FATAL_ERROR "muster_add_lambda: no dynamic loader in the ldd output of ${BINARY}")
    endif()
    file(COPY_FILE ${loader} ${STAGE}/lib/ld.so)
    file(GLOB libraries ${STAGE}/lib/*)
    foreach(library IN LISTS libraries)
        file(CHMOD ${library} FILE_PERMISSIONS
            OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    endforeach()
    # The launcher is built here, with none of the project's flags: a
    # sanitizer or a debug flag of the function's build has no place in it.
    execute_process(
        COMMAND ${CXX_COMPILER} -std=c++20 -Os -static -s
            -DMUSTER_FUNCTION_NAME="${NAME}" ${LAUNCHER_SOURCE} -o ${STAGE}/bootstrap
        RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "muster_add_lambda: building the launcher failed (${result})")
    endif()
    set(entries bootstrap bin lib)
else()
    message(FATAL_ERROR "muster_package_lambda.cmake: MODE must be static or bundle, not '${MODE}'")
endif()

file(REMOVE ${OUTPUT})
execute_process(COMMAND ${CMAKE_COMMAND} -E tar cf ${OUTPUT} --format=zip --mtime=1980-01-01 ${entries}
    WORKING_DIRECTORY ${STAGE} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "muster_add_lambda: writing ${OUTPUT} failed (${result})")
endif()

file(SIZE ${OUTPUT} zip_size)
file(SIZE ${STAGE}/bootstrap bootstrap_size)
math(EXPR zip_kib "(${zip_size} + 1023) / 1024")
math(EXPR bootstrap_kib "(${bootstrap_size} + 1023) / 1024")
message(STATUS "muster_add_lambda: ${OUTPUT}: ${zip_kib} KiB (${zip_size} bytes), "
    "${MODE} bootstrap ${bootstrap_kib} KiB")
