"""Time-varying rendering: moving sources, a moving and turning listener, block by block.

``paths`` (how each arrival moves with its source) → ``delay_line`` (gliding fractional delays: Doppler)
→ ``kernels`` (each format's direction filters, from its own encoder) → ``engine`` (the block engine a
real-time stream also runs) → ``scene_render`` (a scene through the engine, offline). ``partitioned``
convolves the fixed late tail block by block.
"""
