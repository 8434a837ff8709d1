"""OSC in: the messages head trackers and ambisonic plug-ins send, and source positions by name.

- ``/ypr yaw pitch roll``: the head's orientation in degrees in this project's conventions (yaw positive to
  the left, pitch positive up, roll positive raising the left ear).
- ``/SceneRotator/quaternions w x y z``: the head's orientation as a unit quaternion in the listener frame
  (x forward, y left, z up), as the IEM SceneRotator takes it; ``/SceneRotator/ypr yaw pitch roll``: the same
  pose as the SceneRotator's own angles (its pitch is a right-handed turn about y, nose down; see
  :func:`~soundstage.stream.live.scene_rotator_matrix`).
- ``/source/NAME/xyz x y z``: a source to a world point in metres; ``/source/NAME/aed az el dist``: to an
  azimuth, elevation (degrees) and distance (metres) from the listener. ``NAME`` is the source's name in
  the scene, or its number from 0.

Messages are read in order on one thread of their own (python-osc's UDP server) and queued for the next block.
A malformed message is counted and ignored, never allowed to stop the stream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from soundstage.conventions import quaternion_matrix, rotation_matrix
from soundstage.stream.live import scene_rotator_matrix
from soundstage.stream.streamer import Streamer


@dataclass
class OscCounts:
    """Messages applied and refused since the server started."""

    applied: int = 0
    refused: int = 0


class OscControl:
    """An OSC server on ``host:port`` that steers a :class:`Streamer`; ``close()`` stops it."""

    def __init__(self, streamer: Streamer, *, port: int, host: str = "127.0.0.1") -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self.streamer = streamer
        self.counts = OscCounts()
        dispatcher = Dispatcher()
        dispatcher.map("/SceneRotator/ypr", self._scene_rotator_ypr)
        dispatcher.map("/ypr", self._ypr)
        dispatcher.map("/SceneRotator/quaternions", self._quaternion)
        dispatcher.map("/source/*", self._source)
        dispatcher.set_default_handler(self._unknown)
        # One thread reading the messages in order (a thread per message could let a stale pose win).
        self.server = BlockingOSCUDPServer((host, port), dispatcher)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="soundstage-osc", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _ypr(self, address: str, *args) -> None:
        self._turn(args, rotation_matrix)

    def _scene_rotator_ypr(self, address: str, *args) -> None:
        self._turn(args, scene_rotator_matrix)

    def _turn(self, args: tuple, to_matrix) -> None:
        values = _numbers(args, 3)
        if values is None:
            self.counts.refused += 1
            return
        self.streamer.turn_head(to_matrix(*values))
        self.counts.applied += 1

    def _quaternion(self, address: str, *args) -> None:
        values = _numbers(args, 4)
        try:
            matrix = quaternion_matrix(*values) if values is not None else None
        except ValueError:
            matrix = None
        if matrix is None:
            self.counts.refused += 1
            return
        self.streamer.turn_head(matrix)
        self.counts.applied += 1

    def _source(self, address: str, *args) -> None:
        parts = address.strip("/").split("/")
        values = _numbers(args, 3)
        if len(parts) != 3 or parts[2] not in ("xyz", "aed") or values is None:
            self.counts.refused += 1
            return
        try:
            index = self.streamer.source_index(parts[1])
        except Exception:
            self.counts.refused += 1
            return
        if parts[2] == "xyz":
            self.streamer.move_source(index, values)
        else:
            self.streamer.move_source_around(index, *values)
        self.counts.applied += 1

    def _unknown(self, address: str, *args) -> None:
        self.counts.refused += 1


def _numbers(args: tuple, count: int) -> list[float] | None:
    """The message's first ``count`` arguments as finite floats, or None."""
    import math

    if len(args) < count:
        return None
    try:
        values = [float(value) for value in args[:count]]
    except (TypeError, ValueError):
        return None
    return values if all(math.isfinite(v) for v in values) else None
