"""``soundstage demo``: a synthesized scene rendered to every format, with a plot."""

from soundstage.demo.run import DEMO_FORMATS, build_demo_scene, run_demo

__all__ = ["DEMO_FORMATS", "build_demo_scene", "run_demo"]
