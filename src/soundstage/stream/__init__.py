"""Real-time rendering: the block engine steered while it plays (``soundstage stream``).

``live`` (paths and head turns written while they play) → ``streamer`` (the engine fed block by block,
changes applied between blocks, each block timed) → ``osc`` (head trackers and plug-ins steer it) and
``output`` (an audio device through PortAudio, or a file paced in real time, or a benchmark).
"""
