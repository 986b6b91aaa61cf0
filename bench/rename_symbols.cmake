# cmake -DNM=nm -DOBJCOPY=objcopy -DIN=librcgc_notrace.a -DOUT=librcgc_nt.a
#       -P rename_symbols.cmake
# Copies the static library IN to OUT with every global symbol it defines
# prefixed by nt_, so that OUT and the ordinary library can be linked into
# one program (bench_trace_ab).
execute_process(COMMAND ${NM} --defined-only --extern-only --format=posix ${IN}
                OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "rename_symbols: ${NM} failed on ${IN}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${listing}")
set(map "")
foreach(line ${lines})
  # "name type value size"; archive member headers end with ':'
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_.]*) [A-Za-z] ")
    string(APPEND map "${CMAKE_MATCH_1} nt_${CMAKE_MATCH_1}\n")
  endif()
endforeach()
if(map STREQUAL "")
  message(FATAL_ERROR "rename_symbols: no symbols found in ${IN}")
endif()
file(WRITE ${OUT}.syms "${map}")
execute_process(COMMAND ${OBJCOPY} --redefine-syms=${OUT}.syms ${IN} ${OUT}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "rename_symbols: ${OBJCOPY} failed on ${IN}")
endif()
