"""cimgen: generate, verify and synthesise the digital periphery of analog CIM macros."""

__version__ = "0.1.0"
