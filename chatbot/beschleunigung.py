"""CPU savings for the Rasa server (Rasa 3.6.21, TensorFlow 2.12), applied when rest_kanal.py is imported, i.e. by
`rasa run --credentials credentials.yml`. Training and `rasa test` run Rasa unchanged.

Each patch replaces one Rasa method only where it still looks as measured (same module, same name); another Rasa
version keeps its own code and a warning is logged. Figures: py-spy on the Rasa server during bench/chat.py
(10 conversations, turns whose action searches the Wissensdatenbank).

1. Custom-action results are validated with a validator built once. `RemoteAction._validate_action_result` calls
   `jsonschema.validate`, which re-checks the large constant event schema against the metaschema on every action
   call: 33 ms CPU per custom action, 0.5 ms with the cached validator. Same schema, same ValidationError.
2. Event classes are looked up by type name through a table. `Event.resolve_by_type` walks the whole class tree
   (`all_subclasses` with `inspect.isabstract` per class) for every event of every tracker the in-memory tracker
   store deserialises: every event of the conversation on every turn, 10 % of the server's CPU in a 40-turn
   conversation. The table gives the class the walk gives (first match, same order) and is rebuilt when a name is
   missing (a subclass imported later); unknown names behave as before.
3. DIET and TED predictions call their compiled TensorFlow graph directly. Rasa calls a `tf.function` with a fixed
   input signature; on every call TensorFlow 2.12 rebuilds a type for the inputs and for every captured model
   variable to look up the one concrete function that signature allows (`_maybe_define_function`: 17 % of the
   server's CPU, more than the graph execution itself). The first prediction goes through Rasa's own code and
   builds that graph; later ones convert the inputs to the signature's dtypes and call the concrete function. If
   the inputs do not fit the signature, that model goes back to Rasa's own path for good.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def _passt(funktion: Any, modul: str) -> bool:
    return funktion is not None and getattr(funktion, "__module__", "") == modul


# --- 1. action result validator ------------------------------------------------------------------------------

_validator: Any = None


def _validieren(self: Any, result: dict[str, Any]) -> bool:
    global _validator
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        klasse = validators.validator_for(schema)
        klasse.check_schema(schema)  # once, as jsonschema.validate does on every call
        _validator = klasse(schema)
    try:
        _validator.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response from the "
                      "Action endpoint is valid.")
        raise


def _validator_einsetzen() -> None:
    from rasa.core.actions.action import RemoteAction

    if not _passt(getattr(RemoteAction, "_validate_action_result", None), "rasa.core.actions.action"):
        log.warning("beschleunigung: RemoteAction._validate_action_result not as expected, left unchanged")
        return
    RemoteAction._validate_action_result = _validieren  # type: ignore[method-assign]


# --- 2. event classes by type name ---------------------------------------------------------------------------

_ereignis_klassen: dict[str, type] = {}
_original_nach_typ: Any = None


def _nach_typ(type_name: str, default: type | None = None) -> type | None:
    global _ereignis_klassen
    klasse = _ereignis_klassen.get(type_name)
    if klasse is None:
        import rasa.shared.utils.common
        from rasa.shared.core.events import Event

        tabelle: dict[str, type] = {}
        for k in rasa.shared.utils.common.all_subclasses(Event):
            tabelle.setdefault(k.type_name, k)
        _ereignis_klassen = tabelle
        klasse = tabelle.get(type_name)
    if klasse is not None:
        return klasse
    return _original_nach_typ(type_name, default)


def _ereignisse_einsetzen() -> None:
    global _original_nach_typ
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    if not _passt(original, "rasa.shared.core.events"):
        log.warning("beschleunigung: Event.resolve_by_type not as expected, left unchanged")
        return
    _original_nach_typ = original
    Event.resolve_by_type = staticmethod(_nach_typ)  # type: ignore[method-assign]


# --- 3. direct call of the compiled prediction graph ---------------------------------------------------------

_original_vorhersage: Any = None


def _vorhersagen(self: Any, batch_in: Any) -> Any:
    direkt = self.__dict__.get("_sc_direkt")
    if direkt is None:
        ausgabe = _original_vorhersage(self, batch_in)
        schritt = getattr(self, "_tf_predict_step", None)
        if "_sc_direkt" not in self.__dict__:
            self.__dict__["_sc_direkt"] = False
            if schritt is not None and not getattr(self, "_run_eagerly", False):
                try:
                    import tensorflow as tf

                    konkret = schritt.get_concrete_function()
                    specs = tf.nest.flatten(schritt.input_signature)
                    self.__dict__["_sc_direkt"] = (konkret, specs)
                except Exception:  # noqa: BLE001 - keep Rasa's own path
                    log.warning("beschleunigung: no concrete prediction function, Rasa's own path stays")
        return ausgabe
    if direkt is False:
        return _original_vorhersage(self, batch_in)
    import tensorflow as tf
    from keras.utils import tf_utils
    from rasa.shared.constants import DIAGNOSTIC_DATA

    konkret, specs = direkt
    flach = tf.nest.flatten(batch_in)
    try:
        if len(flach) != len(specs):
            raise ValueError(f"{len(flach)} inputs, signature has {len(specs)}")
        tensoren = []
        for wert, spec in zip(flach, specs, strict=True):
            t = tf.convert_to_tensor(wert, dtype=spec.dtype)
            if not spec.shape.is_compatible_with(t.shape):
                raise ValueError(f"shape {t.shape} does not fit {spec.shape}")
            tensoren.append(t)
    except (ValueError, TypeError) as e:
        log.warning("beschleunigung: inputs do not fit the prediction signature (%s), Rasa's own path from now", e)
        self.__dict__["_sc_direkt"] = False
        return _original_vorhersage(self, batch_in)
    self._training = False
    ausgabe = tf_utils.sync_to_numpy_or_python_type(konkret._call_flat(tensoren, konkret.captured_inputs))
    if DIAGNOSTIC_DATA in ausgabe:
        ausgabe[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(ausgabe[DIAGNOSTIC_DATA])
    return ausgabe


def _vorhersage_einsetzen() -> None:
    global _original_vorhersage
    from rasa.utils.tensorflow.models import RasaModel

    original = getattr(RasaModel, "_rasa_predict", None)
    if not _passt(original, "rasa.utils.tensorflow.models"):
        log.warning("beschleunigung: RasaModel._rasa_predict not as expected, left unchanged")
        return
    _original_vorhersage = original
    RasaModel._rasa_predict = _vorhersagen  # type: ignore[method-assign]


_eingesetzt = False


def einsetzen() -> None:
    """Apply all three patches (idempotent)."""
    global _eingesetzt
    if _eingesetzt:
        return
    _eingesetzt = True
    _validator_einsetzen()
    _ereignisse_einsetzen()
    _vorhersage_einsetzen()
