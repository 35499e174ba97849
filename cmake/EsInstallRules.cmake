include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ES_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/eventsource")
set(es_install_targets es_core)
foreach(t es_postgres es_redis)
  if(TARGET ${t})
    list(APPEND es_install_targets ${t})
  endif()
endforeach()

install(TARGETS ${es_install_targets} EXPORT eventsourceTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(lib core postgres redis)
  if(TARGET es_${lib})
    install(DIRECTORY "${PROJECT_SOURCE_DIR}/libs/${lib}/include/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()
install(EXPORT eventsourceTargets NAMESPACE es:: DESTINATION ${ES_INSTALL_CMAKEDIR})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/eventsourceConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/eventsourceConfig.cmake" INSTALL_DESTINATION ${ES_INSTALL_CMAKEDIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/eventsourceConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/eventsourceConfig.cmake"
              "${PROJECT_BINARY_DIR}/eventsourceConfigVersion.cmake"
        DESTINATION ${ES_INSTALL_CMAKEDIR})
