"""Own Rasa 3 graph components of the chatbot (config.yml names them as komponenten.<modul>.<Klasse>)."""
