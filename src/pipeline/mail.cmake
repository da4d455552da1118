# mail: the run's e-mail and failure notices over SMTP (libcurl's SMTP and MIME API).
# The built-in e-mail templates come with bb_report (templates/ embedded there).
bb_module(mail
  SOURCES src/pipeline/mail.c
  DEPS bb_report bb_template bb_util PkgConfig::CURL PkgConfig::CJSON)
# test_mail runs its cases without an SMTP server by default; `test_mail --smtp`
# (ctest entry mail_smtp) runs those against tests/e2e/smtp_sink.py on loopback
# and is reported as skipped where /usr/bin/python3 or aiosmtpd is missing.
bb_test(mail SOURCES tests/test_mail.c DEPS bb_mail)
if(BUILD_TESTING)
  add_test(NAME mail_smtp COMMAND test_mail --smtp)
  set_tests_properties(mail_smtp PROPERTIES WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    SKIP_RETURN_CODE ${BB_SKIP_CODE} TIMEOUT 300 LABELS "unit;smtp"
    ENVIRONMENT "BB_SOURCE_DIR=${CMAKE_SOURCE_DIR};BB_BUILD_DIR=${CMAKE_BINARY_DIR}")
endif()
