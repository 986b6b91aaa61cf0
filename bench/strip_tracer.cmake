# cmake -DIN=src/alloc.c -DOUT=.../alloc.c -P strip_tracer.cmake
# Copies IN to OUT with each `h->tracer` test replaced by a null constant:
# the allocation paths of a library built without tracing. Fails when IN
# has no such test (the library changed; this file must follow it).
file(READ ${IN} text)
string(REGEX MATCHALL "h->tracer" uses "${text}")
list(LENGTH uses n)
if(n EQUAL 0)
  message(FATAL_ERROR "strip_tracer: no `h->tracer` in ${IN}: nothing to compile out")
endif()
string(REPLACE "h->tracer" "((struct rc_tracer *)0)" text "${text}")
file(WRITE ${OUT} "${text}")
