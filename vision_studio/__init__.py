"""Vision Studio: desktop image analysis with a headless command line."""

__version__ = "0.1.0"
APP_NAME = "Vision Studio"
ORG_NAME = "VisionStudio"
