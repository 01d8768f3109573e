# The link launcher of muster_add_lambda's static mode:
#
#   cmake -P muster_static_link.cmake -- <link command>...
#
# Runs the link command with every shared library named by its path
# (libfoo.so, libfoo.so.1.2) replaced by the static archive beside it
# (libfoo.a). Imported targets name full paths, which `-static` alone does
# not redirect. A library without an archive stops the link with its name.
cmake_minimum_required(VERSION 3.25)

set(command)
set(missing)
set(started FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
    set(arg "${CMAKE_ARGV${i}}")
    if(NOT started)
        if(arg STREQUAL "--")
            set(started TRUE)
        endif()
        continue()
    endif()
    if(arg MATCHES "^(.*/)?lib([^/]+)\\.so(\\.[0-9]+)*$")
        set(archive "${CMAKE_MATCH_1}lib${CMAKE_MATCH_2}.a")
        if(EXISTS "${archive}")
            set(arg "${archive}")
        else()
            list(APPEND missing "${arg}")
        endif()
    endif()
    list(APPEND command "${arg}")
endforeach()

if(missing)
    list(JOIN missing "\n  " missing_lines)
    message(FATAL_ERROR "muster_add_lambda: no static library for\n  ${missing_lines}\n"
        "Install its static archive, or package the function with muster_add_lambda(<target> BUNDLE).")
endif()
if(NOT command)
    message(FATAL_ERROR "muster_static_link.cmake: no link command after --")
endif()
execute_process(COMMAND ${command} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "muster_add_lambda: the static link failed (${result})")
endif()
