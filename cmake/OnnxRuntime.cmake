# Finds ONNX Runtime in ONNXRUNTIME_ROOT: any official release folder (include/, lib/) or the one
# scripts/fetch-onnxruntime.sh lays out. Defines the imported target onnxruntime::onnxruntime.
set(ONNXRUNTIME_ROOT "$ENV{ONNXRUNTIME_ROOT}" CACHE PATH "ONNX Runtime folder with include/ and lib/")
if(NOT ONNXRUNTIME_ROOT)
  execute_process(COMMAND ${CMAKE_CURRENT_LIST_DIR}/../scripts/fetch-onnxruntime.sh
                  OUTPUT_VARIABLE _ort_root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _ort_rc)
  if(NOT _ort_rc EQUAL 0)
    message(FATAL_ERROR "ONNX Runtime not found: pass -DONNXRUNTIME_ROOT=DIR or run scripts/setup.sh")
  endif()
  set(ONNXRUNTIME_ROOT "${_ort_root}" CACHE PATH "ONNX Runtime folder with include/ and lib/" FORCE)
endif()

find_path(ONNXRUNTIME_INCLUDE_DIR onnxruntime_cxx_api.h
          PATHS ${ONNXRUNTIME_ROOT}/include ${ONNXRUNTIME_ROOT}/include/onnxruntime
                ${ONNXRUNTIME_ROOT}/include/onnxruntime/core/session
          NO_DEFAULT_PATH REQUIRED)
find_library(ONNXRUNTIME_LIBRARY NAMES onnxruntime PATHS ${ONNXRUNTIME_ROOT}/lib ${ONNXRUNTIME_ROOT}/lib64
             NO_DEFAULT_PATH REQUIRED)
get_filename_component(ONNXRUNTIME_LIB_DIR ${ONNXRUNTIME_LIBRARY} DIRECTORY)
message(STATUS "ONNX Runtime: ${ONNXRUNTIME_LIBRARY} (headers ${ONNXRUNTIME_INCLUDE_DIR})")

add_library(onnxruntime::onnxruntime SHARED IMPORTED GLOBAL)
set_target_properties(onnxruntime::onnxruntime PROPERTIES
  IMPORTED_LOCATION ${ONNXRUNTIME_LIBRARY}
  IMPORTED_NO_SONAME FALSE
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${ONNXRUNTIME_INCLUDE_DIR}
  INTERFACE_INCLUDE_DIRECTORIES ${ONNXRUNTIME_INCLUDE_DIR})
# Executables find the library through their rpath.
set(CMAKE_BUILD_RPATH ${ONNXRUNTIME_LIB_DIR})
set(CMAKE_INSTALL_RPATH ${ONNXRUNTIME_LIB_DIR})
