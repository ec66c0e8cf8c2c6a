# docs.cmake - man pages and shell completions, generated at build time by
# scripts/mkdocs.py from the program's own --help texts (and, for
# libmailwire(3), from include/mailwire.h; for mailwire-config(5), from
# the profile keys of src/profile.c), so that they cannot drift from the
# program (issue 14).  Installed:
#   share/man/man1/mailwire.1, man5/mailwire-config.5, man3/libmailwire.3
#   share/bash-completion/completions/mailwire
#   share/zsh/site-functions/_mailwire
find_program(MW_DOCS_PYTHON NAMES python3 REQUIRED)
set(MW_DOCS_DIR ${PROJECT_BINARY_DIR}/doc)
set(MW_MKDOCS ${PROJECT_SOURCE_DIR}/scripts/mkdocs.py)
file(MAKE_DIRECTORY ${MW_DOCS_DIR})

# From the CLI's help: rebuilt whenever the CLI is.
foreach(spec "man1;mailwire.1" "bash;mailwire.bash" "zsh;_mailwire")
  list(GET spec 0 mode)
  list(GET spec 1 out)
  add_custom_command(OUTPUT ${MW_DOCS_DIR}/${out}
    COMMAND ${MW_DOCS_PYTHON} ${MW_MKDOCS} ${mode}
            $<TARGET_FILE:mailwire_cli> ${MW_DOCS_DIR}/${out}
    DEPENDS mailwire_cli ${MW_MKDOCS}
    COMMENT "Generating ${out} from mailwire --help" VERBATIM)
endforeach()
add_custom_command(OUTPUT ${MW_DOCS_DIR}/mailwire-config.5
  COMMAND ${MW_DOCS_PYTHON} ${MW_MKDOCS} man5 $<TARGET_FILE:mailwire_cli>
          ${PROJECT_SOURCE_DIR}/src/profile.c ${MW_DOCS_DIR}/mailwire-config.5
  DEPENDS mailwire_cli ${MW_MKDOCS} ${PROJECT_SOURCE_DIR}/src/profile.c
  COMMENT "Generating mailwire-config.5" VERBATIM)
add_custom_command(OUTPUT ${MW_DOCS_DIR}/libmailwire.3
  COMMAND ${MW_DOCS_PYTHON} ${MW_MKDOCS} man3
          ${PROJECT_SOURCE_DIR}/include/mailwire.h ${MW_DOCS_DIR}/libmailwire.3
  DEPENDS ${MW_MKDOCS} ${PROJECT_SOURCE_DIR}/include/mailwire.h
  COMMENT "Generating libmailwire.3 from mailwire.h" VERBATIM)
add_custom_target(mailwire_docs ALL DEPENDS
  ${MW_DOCS_DIR}/mailwire.1 ${MW_DOCS_DIR}/mailwire-config.5
  ${MW_DOCS_DIR}/libmailwire.3 ${MW_DOCS_DIR}/mailwire.bash
  ${MW_DOCS_DIR}/_mailwire)

install(FILES ${MW_DOCS_DIR}/mailwire.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${MW_DOCS_DIR}/mailwire-config.5
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${MW_DOCS_DIR}/libmailwire.3
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES ${MW_DOCS_DIR}/mailwire.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME mailwire)
install(FILES ${MW_DOCS_DIR}/_mailwire
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
