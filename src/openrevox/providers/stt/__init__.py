"""Speech to text: vendor services chosen by ``make_stt`` and the local pocketsphinx engine."""
