# Compiler settings shared by every target of the project.
if(NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(ES_CCACHE ccache)
  if(ES_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${ES_CCACHE}")
  endif()
endif()

option(ES_WARNINGS_AS_ERRORS "Treat warnings as errors" OFF)

function(es_target_settings target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # -Wmissing-field-initializers would flag every options struct initialised by its first fields.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # g++ 12 false positive on Asio's awaitable frame allocator (operator new/delete pair).
      target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    endif()
    if(ES_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# es_library(<target> <export name> <sources>...): one of the framework's libraries, exported as
# es::<export name>, with its public headers in <folder>/include.
function(es_library target export_name)
  add_library(${target} ${ARGN})
  add_library(es::${export_name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${target})
  es_target_settings(${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()
