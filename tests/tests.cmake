# End-to-end and repository checks, run by ctest after the unit tests.
set(BB_E2E ${CMAKE_SOURCE_DIR}/tests/e2e)
add_test(NAME checksrc COMMAND ${CMAKE_SOURCE_DIR}/scripts/checksrc.sh)
# Screenshots and other things worth a look after a run: build*/test-artifacts.
set(BB_ARTIFACTS ${CMAKE_BINARY_DIR}/test-artifacts)
foreach(c sample recs nights determinism check cli gen lock crash retention browser mail seed groceries)
  add_test(NAME e2e_${c} COMMAND ${BB_E2E}/e2e.sh ${c} $<TARGET_FILE:bbreport>)
  set_tests_properties(e2e_${c} PROPERTIES SKIP_RETURN_CODE ${BB_SKIP_CODE} LABELS e2e
    ENVIRONMENT "BB_SHARED_DIR=${BB_SHARED_DIR};BB_ARTIFACTS=${BB_ARTIFACTS}" TIMEOUT 600)
endforeach()
add_test(NAME e2e_badinput COMMAND ${BB_E2E}/badinput.sh $<TARGET_FILE:bbreport>)
set_tests_properties(e2e_badinput PROPERTIES LABELS e2e TIMEOUT 600)
