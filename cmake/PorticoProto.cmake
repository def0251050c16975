# portico_proto_library(<target> PROTO_ROOT <dir> PROTOS <rel paths...>
#                       [IMPORT_DIRS <dirs...>] [GRPC])
# Runs protoc (and grpc_cpp_plugin with GRPC) on PROTOS, relative to PROTO_ROOT, into
# ${CMAKE_CURRENT_BINARY_DIR}/gen and builds a static library exposing that include dir.
function(portico_proto_library target)
  cmake_parse_arguments(P "GRPC" "PROTO_ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen_dir})
  set(import_flags -I${P_PROTO_ROOT})
  foreach(dir IN LISTS P_IMPORT_DIRS)
    list(APPEND import_flags -I${dir})
  endforeach()
  list(APPEND import_flags -I${PORTICO_PROTO_DIR} -I/usr/include)
  set(srcs)
  foreach(rel IN LISTS P_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.pb.h)
    set(cmd_args --cpp_out=${gen_dir})
    if(P_GRPC)
      list(APPEND outs ${gen_dir}/${stem}.grpc.pb.cc ${gen_dir}/${stem}.grpc.pb.h)
      list(APPEND cmd_args --grpc_out=${gen_dir}
           --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc ${import_flags} ${cmd_args} ${rel}
      WORKING_DIRECTORY ${P_PROTO_ROOT}
      DEPENDS ${P_PROTO_ROOT}/${rel} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} SYSTEM PUBLIC ${gen_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  if(NOT target STREQUAL "portico_proto")
    target_link_libraries(${target} PUBLIC portico_proto)  # google/api, google/rpc imports
  endif()
  if(P_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
endfunction()
