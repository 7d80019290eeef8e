"""Audio helpers of the call runtime: PCM maths, sound clips and mixing, recording,
and the voice pipeline (see docs/audio.md)."""
