"""The ``vitrina`` developer command: ``vitrina dev`` runs the whole marketplace on one machine,
``vitrina test`` runs the project's whole check."""
