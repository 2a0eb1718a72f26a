"""Archives: the model and its status machine (``status``), the start options (``options``), the
service behind the REST API that holds an archive's whole life (``service``: start, the three
steps of a recording's end, maximum duration, a failed recorder), the room observer that starts
and stops archives as sessions fill and empty (``supervisor``), and the protocols the service
is given (``ports``: its records, the recorder launcher, the file storage). Imports nothing of
``store``, ``storage`` or ``recording``: ``app.py`` passes their implementations in."""
