"""Voice catalogs, cloning and previews: Cartesia, ElevenLabs, and the local piper voice."""
