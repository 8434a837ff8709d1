"""Training data for learned binauralizers, synthesized with Soundstage's own renderer."""
