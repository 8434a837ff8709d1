"""Scene files shared by the tests: the issue's minimal example, verbatim."""

MINIMAL_SCENE = """\
output: {format: binaural, sample_rate: 48000}
listener: {position: [0, 0, 0]}
sources:
  - name: left
    audio: left.wav
    position: {az: 60, el: 0, dist: 2}
  - name: right
    audio: right.wav
    position: {x: 1, y: -1.5, z: 0}
"""
