"""The ``pacer`` command: ``pacer up`` runs the whole system, ``pacer serve <name>`` one service."""
