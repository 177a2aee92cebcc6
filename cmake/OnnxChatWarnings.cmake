# Warning flags shared by every onnx-chat target.
function(onnx_chat_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(ONNX_CHAT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# onnx_chat_layer(NAME DIR DEPS...): a static library made of every .cpp in src/DIR, whose public
# headers are included as "DIR/header.h". Layering is checked by tests/check_layers.py.
function(onnx_chat_layer name dir)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
  if(sources)
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    onnx_chat_warnings(${name})
    set(vis PUBLIC)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    set(vis INTERFACE)
  endif()
  target_compile_features(${name} ${vis} cxx_std_20)
  if(ARGN)
    target_link_libraries(${name} ${vis} ${ARGN})
  endif()
endfunction()
