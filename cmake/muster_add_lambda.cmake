# muster_add_lambda(<target> [OUTPUT <zip>] [BUNDLE])
#
# Turns the executable <target> (a program calling muster::lambda::run) into
# a deployment package for AWS Lambda's OS-only runtimes (provided.al2023,
# provided.al2): a zip with an executable `bootstrap` at its root, built by
# the target `<target>_zip`, which is part of `all`.
#
#   OUTPUT <zip>  where the zip goes (default: <target>.zip in the current
#                 binary directory; a relative path is taken from there).
#   BUNDLE        link <target> as usual (dynamically) and ship its shared
#                 libraries with it: the zip holds bin/<target>, lib/ with
#                 every library it loads and the dynamic loader itself, and a
#                 small static `bootstrap` that starts bin/<target> through
#                 that loader. For dependencies with no static library.
#
# Without BUNDLE, <target> itself is linked fully static (glibc, libstdc++,
# Boost, OpenSSL, zlib...) and becomes `bootstrap`, stripped: it needs
# nothing from the image it runs on, whatever glibc that image has. Every
# shared library the link line names (full paths from imported targets, such
# as Boost::json) is replaced by its static archive beside it; the build
# fails, naming the library, when there is none (then use BUNDLE). Other
# targets linking the same libraries are not affected.
#
# The size of the zip is printed when it is built. Needs a Makefile or Ninja
# generator (the static link goes through RULE_LAUNCH_LINK) and GCC or Clang
# on Linux. A static bootstrap cannot carry a sanitizer: with -fsanitize in
# the flags, only BUNDLE is accepted.
include_guard(GLOBAL)

set(_muster_lambda_module_dir ${CMAKE_CURRENT_LIST_DIR})

function(muster_add_lambda target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "BUNDLE" "OUTPUT" "")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "muster_add_lambda(${target}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT TARGET ${target})
        message(FATAL_ERROR "muster_add_lambda(${target}): no such target")
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
        message(FATAL_ERROR "muster_add_lambda(${target}): ${target} is a ${type}, not an executable")
    endif()
    if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
        message(FATAL_ERROR "muster_add_lambda(${target}): Lambda runs Linux binaries; this build targets ${CMAKE_SYSTEM_NAME}")
    endif()

    if(NOT arg_OUTPUT)
        set(arg_OUTPUT ${target}.zip)
    endif()
    cmake_path(ABSOLUTE_PATH arg_OUTPUT BASE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set(stage ${CMAKE_CURRENT_BINARY_DIR}/${target}.lambda)

    if(arg_BUNDLE)
        set(mode bundle)
        set(extra_depends ${_muster_lambda_module_dir}/muster_lambda_launcher.cpp)
    else()
        set(mode static)
        set(extra_depends)
        string(TOUPPER "${CMAKE_BUILD_TYPE}" config_upper)
        if("${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${config_upper}} ${CMAKE_EXE_LINKER_FLAGS}" MATCHES "-fsanitize")
            message(FATAL_ERROR "muster_add_lambda(${target}): a sanitizer build (-fsanitize in the "
                "flags) cannot be linked statically; configure without sanitizers, or pass BUNDLE")
        endif()
        # Sections per function and data object, so the linker drops what
        # the function never reaches (most of OpenSSL, for instance).
        target_compile_options(${target} PRIVATE -ffunction-sections -fdata-sections)
        target_link_options(${target} PRIVATE -static -Wl,--gc-sections)
        set_property(TARGET ${target} PROPERTY RULE_LAUNCH_LINK
            "${CMAKE_COMMAND} -P ${_muster_lambda_module_dir}/muster_static_link.cmake --")
    endif()

    add_custom_command(OUTPUT ${arg_OUTPUT}
        COMMAND ${CMAKE_COMMAND}
            -DMODE=${mode}
            -DBINARY=$<TARGET_FILE:${target}>
            -DNAME=${target}
            -DSTAGE=${stage}
            -DOUTPUT=${arg_OUTPUT}
            -DSTRIP=${CMAKE_STRIP}
            -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
            -DLAUNCHER_SOURCE=${_muster_lambda_module_dir}/muster_lambda_launcher.cpp
            -P ${_muster_lambda_module_dir}/muster_package_lambda.cmake
        DEPENDS ${target} ${_muster_lambda_module_dir}/muster_package_lambda.cmake ${extra_depends}
        COMMENT "Packaging ${target} for AWS Lambda (${mode}): ${arg_OUTPUT}"
        VERBATIM)
    add_custom_target(${target}_zip ALL DEPENDS ${arg_OUTPUT})
    set_target_properties(${target} PROPERTIES MUSTER_LAMBDA_ZIP ${arg_OUTPUT})
endfunction()
