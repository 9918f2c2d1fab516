"""Helpers shared by the tests: real repositories, real servers, the command line, and
the checks that a refused write changed nothing. Test modules import from here, never from
each other."""
