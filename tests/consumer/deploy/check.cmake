# The checks of MODE=deploy, included by run.cmake after the build of this
# directory's project (variables: build_dir, prefix, WORK_DIR, run_step).

find_program(python NAMES python3 REQUIRED NO_CACHE)
set(muster_cli ${prefix}/bin/muster)
if(NOT EXISTS ${muster_cli})
    message(FATAL_ERROR "consumer (deploy): the installed prefix has no bin/muster")
endif()

# Whether this process may chroot: root, and a chroot program.
execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
find_program(chroot_program chroot PATHS /usr/sbin /sbin NO_CACHE)
set(use_chroot FALSE)
if(uid STREQUAL "0" AND chroot_program)
    set(use_chroot TRUE)
endif()

# run_function(<zip> <expected substring>...): unpacks <zip> into an empty
# directory, invokes it once with event.json and checks the response.
function(run_function name)
    set(zip ${build_dir}/${name}.zip)
    set(root ${WORK_DIR}/root/${name})
    file(REMOVE_RECURSE ${root})
    file(MAKE_DIRECTORY ${root})
    run_step("unpack ${name}.zip" ${CMAKE_COMMAND} -E chdir ${root} ${CMAKE_COMMAND} -E tar xf ${zip})
    if(use_chroot)
        set(command ${chroot_program} ${root} /bootstrap)
    else()
        set(command ${root}/bootstrap)
    endif()
    message(STATUS "consumer (deploy): invoke ${name}")
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env --unset=AWS_LAMBDA_RUNTIME_API
            ${muster_cli} invoke --event ${CMAKE_CURRENT_LIST_DIR}/event.json --timeout 10
            --task-root ${root} -- ${command}
        RESULT_VARIABLE result OUTPUT_VARIABLE response ERROR_VARIABLE log
        COMMAND_ECHO STDOUT)
    message(STATUS "consumer (deploy): ${name} answered ${response}")
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "consumer (deploy): ${name} failed (${result}):\n${log}")
    endif()
    foreach(expected IN LISTS ARGN)
        string(FIND "${response}" "${expected}" at)
        if(at EQUAL -1)
            message(FATAL_ERROR "consumer (deploy): ${name}'s response lacks ${expected}:\n${response}\n${log}")
        endif()
    endforeach()
endfunction()

run_step("check static_function.zip" ${python} ${CMAKE_CURRENT_LIST_DIR}/check_zip.py
    ${build_dir}/static_function.zip)
run_step("check bundled_function.zip" ${python} ${CMAKE_CURRENT_LIST_DIR}/check_zip.py
    ${build_dir}/bundled_function.zip bin/bundled_function lib/ld.so lib/libc.so.6
    lib/libgreeting.so)

# The static bootstrap is one static executable and nothing else.
file(READ ${build_dir}/static_function.lambda/bootstrap elf_header LIMIT 20 HEX)
string(SUBSTRING "${elf_header}" 32 4 elf_type)
if(NOT elf_type STREQUAL "0200")
    message(FATAL_ERROR "consumer (deploy): the static bootstrap is not an ET_EXEC executable "
        "(type ${elf_type}; a static-pie or a dynamic executable would be 0300)")
endif()
execute_process(COMMAND ldd ${build_dir}/static_function.lambda/bootstrap
    OUTPUT_VARIABLE ldd_output ERROR_VARIABLE ldd_output)
if(NOT ldd_output MATCHES "not a dynamic executable")
    message(FATAL_ERROR "consumer (deploy): the static bootstrap loads libraries:\n${ldd_output}")
endif()

run_function(static_function [["event":{"deploy":[1,2,3]}]])
run_function(bundled_function [["event":{"deploy":[1,2,3]}]] [["greeting":"hello from a shared library"]])

# A static link of a shared-only library stops, naming it.
message(STATUS "consumer (deploy): a static link without a static library must fail")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build_dir} --target unlinkable_function_zip
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(result EQUAL 0)
    message(FATAL_ERROR "consumer (deploy): unlinkable_function linked static despite libgreeting.so")
endif()
if(NOT output MATCHES "no static library for" OR NOT output MATCHES "libgreeting\\.so")
    message(FATAL_ERROR "consumer (deploy): the failed static link does not name libgreeting.so:\n${output}")
endif()

if(use_chroot)
    message(STATUS "consumer (deploy): both functions ran in a chroot of their unpacked zip")
else()
    message(STATUS "consumer (deploy): SKIPPED the chroot (needs root and chroot); "
        "both functions ran from their unpacked zip outside a chroot")
endif()
