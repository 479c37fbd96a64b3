# neuroplex_web_assets: the dashboard's static files compiled into the binary (api/web/assets.h).
# embed.cmake turns them into a generated .cc at build time; editing a file here rebuilds it.
# To add a file: put it beside these, list it in _dashboard_files (embed.cmake must know its
# extension's content type).
set(_dashboard_dir ${CMAKE_CURRENT_LIST_DIR})
set(_dashboard_files index.html app.js style.css)
set(_dashboard_inputs ${_dashboard_files})
list(TRANSFORM _dashboard_inputs PREPEND ${_dashboard_dir}/)
list(JOIN _dashboard_files "," _dashboard_files_arg)
set(_dashboard_cc ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.cc)

add_custom_command(
  OUTPUT ${_dashboard_cc}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${_dashboard_cc} -DDIR=${_dashboard_dir}
          -DFILES=${_dashboard_files_arg} -P ${_dashboard_dir}/embed.cmake
  DEPENDS ${_dashboard_inputs} ${_dashboard_dir}/embed.cmake
  COMMENT "Embedding the dashboard (${_dashboard_files_arg})"
  VERBATIM)

add_library(neuroplex_web_assets STATIC ${_dashboard_cc} ${PROJECT_SOURCE_DIR}/api/web/assets.h)
target_include_directories(neuroplex_web_assets PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(neuroplex_web_assets PUBLIC neuroplex::options)
