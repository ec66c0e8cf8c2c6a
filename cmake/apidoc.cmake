# apidoc.cmake - the API reference (issue 14): Doxygen over
# include/mailwire.h (doc/Doxyfile.in, doc/doxyfilter.py).  Not part of
# the default build:
#   cmake --build build --target apidoc  ->  build/doc/api/html/index.html
# The docs.api test runs the same configuration and fails on any warning
# (every function documented, each with @since); it is skipped, saying
# so, when doxygen is not installed.
find_program(MW_DOXYGEN NAMES doxygen)
find_program(MW_DOCS_PYTHON NAMES python3 REQUIRED)
set(MW_APIDOC_DIR ${PROJECT_BINARY_DIR}/doc/api)
configure_file(${PROJECT_SOURCE_DIR}/doc/Doxyfile.in
               ${PROJECT_BINARY_DIR}/doc/Doxyfile @ONLY)
if(MW_DOXYGEN)
  add_custom_target(apidoc
    COMMAND ${CMAKE_COMMAND} -E make_directory ${MW_APIDOC_DIR}
    COMMAND ${MW_DOXYGEN} ${PROJECT_BINARY_DIR}/doc/Doxyfile
    DEPENDS ${PROJECT_SOURCE_DIR}/include/mailwire.h
            ${PROJECT_SOURCE_DIR}/doc/doxyfilter.py
            ${PROJECT_SOURCE_DIR}/doc/mainpage.dox
    COMMENT "API reference: ${MW_APIDOC_DIR}/html/index.html" VERBATIM)
else()
  add_custom_target(apidoc
    COMMAND ${CMAKE_COMMAND} -E echo
            "apidoc: doxygen is not installed (scripts/setup.sh installs it)"
    COMMAND ${CMAKE_COMMAND} -E false VERBATIM)
endif()
if(MW_BUILD_TESTS)
  add_test(NAME docs.api
    COMMAND ${MW_DOCS_PYTHON} ${PROJECT_SOURCE_DIR}/doc/apidoc-check.py
            "${MW_DOXYGEN}" ${PROJECT_BINARY_DIR}/doc/Doxyfile
            ${PROJECT_SOURCE_DIR}/include/mailwire.h
            ${PROJECT_BINARY_DIR}/doc/api-check)
  set_tests_properties(docs.api PROPERTIES
    LABELS docs SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
