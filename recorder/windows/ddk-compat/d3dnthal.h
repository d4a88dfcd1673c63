/*
 * d3dnthal.h - empty stand-in for the WDK header mingw-w64 10 lacks (see
 * ddrawint.h here); winddi.h needs nothing from it for dmt_escape.c.
 */
