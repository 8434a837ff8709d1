"""Video in, video with spatial sound out: probe and decode (``container``), follow sounding objects
(``tracking``), render along their paths (``pipeline``), write the MP4 with the pictures copied (``mp4``).
"""
