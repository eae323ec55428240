"""dmcs: the control layer that runs a survey telescope's Data Management services."""

__version__ = "0.1.0"
#: The ts_xml release whose generic topics dmcs matches (softwareVersions.xmlVersion).
XML_VERSION = "ts_xml a724e1a"
