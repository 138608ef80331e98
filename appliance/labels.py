"""Every text the screen shows, by key, in the shipped languages (pure: no pygame, no I/O).

``display.language`` picks one of :data:`SHIPPED` (English, German, French, Spanish);
``display.labels`` overrides single keys of it. A text may hold ``str.format`` fields
(``{seconds}``); an override may use the fields of its key's English text, no others.

A failure's technical cause stays in the log and in ``appliance status``; the visitor sees the
label of its kind (:func:`cause_key`).
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from typing import Any

DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    # the state caption at the top
    "idle": "Ready — press to talk",
    "connecting": "Connecting…",
    "reconnecting": "Reconnecting…",
    "reconnecting_attempt": "Reconnecting… (attempt {attempt})",
    "listening": "Listening",
    "muted": "Muted — microphone off",
    "speaking": "Speaking",
    "error": "Error — press to retry",
    # the captions under the buttons
    "button_start": "Start",
    "button_cancel": "Cancel",
    "button_stop": "Stop",
    "button_interrupt": "Interrupt",
    "button_retry": "Retry",
    "button_mic_on": "Mic on",
    "button_muted": "Muted",
    "button_microphone": "Microphone",
    # between the buttons: realtime.loading.text / realtime.error.text when not set
    "loading": "Loading",
    "error_title": "Error",
    # why it failed, by kind (the technical cause is in the log)
    "error_no_key": "No key for the voice service",
    "error_provisioning": "The key server did not give a key",
    "error_key_refused": "The voice service refused the key",
    "error_network": "No connection to the voice service",
    "error_server": "The voice service reported an error",
    "error_microphone": "No microphone found",
    "error_speaker": "No speaker found",
    "error_audio": "The sound device failed",
    "error_other": "Something went wrong",
    "renewing": "Renewing the session…",
    # idle stop, volume, key server refusals
    "countdown": "Still there? Speak or press ({seconds})",
    "wake_hint": "Say '{phrase}' or press",
    "volume": "Volume",
    "limit_reached": "Daily limit reached; back tomorrow",
    "device_removed": "This device was removed from the key server",
    "busy": "Busy; try again in a moment",
    # the setup screen
    "setup_title": "Setup needed: no key for the voice service",
    "setup_no_key_source": "No key source: neither a provisioning URL nor an API key is configured",
    "setup_key_file_missing": "The API key file {path} does not exist",
    "setup_key_file_empty": "The API key file {path} is empty",
    "setup_ssh": "Log in to this device over SSH (ssh you@{host}.local), then",
    "setup_provisioning": "either point it at a server of yours that hands out keys:",
    "setup_key_file": "or put an OpenAI API key on it (paste the key, then press Ctrl-D):",
    "setup_restart": "then start it again:",
    "setup_retry": "Press the button, or touch the screen, to try again.",
    "setup_device": "This device: {host}  ·  {addresses}",
    "setup_no_address": "no network address yet",
    # the window's title (display.mode = "window")
    "window_title": "Voice assistant",
}

DE: dict[str, str] = {
    "idle": "Bereit – zum Sprechen drücken",
    "connecting": "Verbinden…",
    "reconnecting": "Erneut verbinden…",
    "reconnecting_attempt": "Erneut verbinden… (Versuch {attempt})",
    "listening": "Hört zu",
    "muted": "Stumm – Mikrofon aus",
    "speaking": "Spricht",
    "error": "Fehler – zum Wiederholen drücken",
    "button_start": "Start",
    "button_cancel": "Abbrechen",
    "button_stop": "Stopp",
    "button_interrupt": "Unterbrechen",
    "button_retry": "Wiederholen",
    "button_mic_on": "Mikro an",
    "button_muted": "Stumm",
    "button_microphone": "Mikrofon",
    "loading": "Lädt",
    "error_title": "Fehler",
    "error_no_key": "Kein Schlüssel für den Sprachdienst",
    "error_provisioning": "Der Schlüsselserver hat keinen Schlüssel geliefert",
    "error_key_refused": "Der Sprachdienst hat den Schlüssel abgelehnt",
    "error_network": "Keine Verbindung zum Sprachdienst",
    "error_server": "Der Sprachdienst hat einen Fehler gemeldet",
    "error_microphone": "Kein Mikrofon gefunden",
    "error_speaker": "Kein Lautsprecher gefunden",
    "error_audio": "Das Audiogerät ist ausgefallen",
    "error_other": "Etwas ist schiefgelaufen",
    "renewing": "Sitzung wird erneuert…",
    "countdown": "Noch da? Sprechen oder drücken ({seconds})",
    "wake_hint": "Sagen Sie „{phrase}“ oder drücken",
    "volume": "Lautstärke",
    "limit_reached": "Tageslimit erreicht; morgen geht es weiter",
    "device_removed": "Dieses Gerät wurde vom Schlüsselserver entfernt",
    "busy": "Ausgelastet; gleich noch einmal versuchen",
    "setup_title": "Einrichtung nötig: kein Schlüssel für den Sprachdienst",
    "setup_no_key_source": "Keine Schlüsselquelle: weder eine Provisioning-URL noch ein "
    "API-Schlüssel ist eingerichtet",
    "setup_key_file_missing": "Die API-Schlüsseldatei {path} existiert nicht",
    "setup_key_file_empty": "Die API-Schlüsseldatei {path} ist leer",
    "setup_ssh": "Melden Sie sich per SSH an diesem Gerät an (ssh you@{host}.local), dann",
    "setup_provisioning": "entweder auf einen eigenen Server verweisen, der Schlüssel ausgibt:",
    "setup_key_file": "oder einen OpenAI-API-Schlüssel hinterlegen (Schlüssel einfügen, dann "
    "Strg-D drücken):",
    "setup_restart": "dann neu starten:",
    "setup_retry": "Taste drücken oder den Bildschirm berühren, um es erneut zu versuchen.",
    "setup_device": "Dieses Gerät: {host}  ·  {addresses}",
    "setup_no_address": "noch keine Netzwerkadresse",
    "window_title": "Sprachassistent",
}

FR: dict[str, str] = {
    "idle": "Prêt — appuyez pour parler",
    "connecting": "Connexion…",
    "reconnecting": "Reconnexion…",
    "reconnecting_attempt": "Reconnexion… (essai {attempt})",
    "listening": "À l’écoute",
    "muted": "Muet — micro coupé",
    "speaking": "Parle",
    "error": "Erreur — appuyez pour réessayer",
    "button_start": "Démarrer",
    "button_cancel": "Annuler",
    "button_stop": "Arrêter",
    "button_interrupt": "Interrompre",
    "button_retry": "Réessayer",
    "button_mic_on": "Micro actif",
    "button_muted": "Muet",
    "button_microphone": "Micro",
    "loading": "Chargement",
    "error_title": "Erreur",
    "error_no_key": "Aucune clé pour le service vocal",
    "error_provisioning": "Le serveur de clés n’a pas fourni de clé",
    "error_key_refused": "Le service vocal a refusé la clé",
    "error_network": "Pas de connexion au service vocal",
    "error_server": "Le service vocal a signalé une erreur",
    "error_microphone": "Aucun microphone trouvé",
    "error_speaker": "Aucun haut-parleur trouvé",
    "error_audio": "Le périphérique audio a échoué",
    "error_other": "Un problème est survenu",
    "renewing": "Renouvellement de la session…",
    "countdown": "Toujours là ? Parlez ou appuyez ({seconds})",
    "wake_hint": "Dites « {phrase} » ou appuyez",
    "volume": "Volume",
    "limit_reached": "Limite du jour atteinte ; à demain",
    "device_removed": "Cet appareil a été retiré du serveur de clés",
    "busy": "Occupé ; réessayez dans un instant",
    "setup_title": "Configuration requise : aucune clé pour le service vocal",
    "setup_no_key_source": "Aucune source de clé : ni URL de provisionnement ni clé d’API "
    "configurée",
    "setup_key_file_missing": "Le fichier de clé d’API {path} n’existe pas",
    "setup_key_file_empty": "Le fichier de clé d’API {path} est vide",
    "setup_ssh": "Connectez-vous à cet appareil par SSH (ssh you@{host}.local), puis",
    "setup_provisioning": "soit indiquez un serveur à vous qui distribue des clés :",
    "setup_key_file": "soit déposez une clé d’API OpenAI (collez la clé, puis appuyez sur "
    "Ctrl-D) :",
    "setup_restart": "puis redémarrez-le :",
    "setup_retry": "Appuyez sur le bouton ou touchez l’écran pour réessayer.",
    "setup_device": "Cet appareil : {host}  ·  {addresses}",
    "setup_no_address": "pas encore d’adresse réseau",
    "window_title": "Assistant vocal",
}

ES: dict[str, str] = {
    "idle": "Listo — pulse para hablar",
    "connecting": "Conectando…",
    "reconnecting": "Reconectando…",
    "reconnecting_attempt": "Reconectando… (intento {attempt})",
    "listening": "Escuchando",
    "muted": "Silenciado — micrófono apagado",
    "speaking": "Hablando",
    "error": "Error — pulse para reintentar",
    "button_start": "Empezar",
    "button_cancel": "Cancelar",
    "button_stop": "Parar",
    "button_interrupt": "Interrumpir",
    "button_retry": "Reintentar",
    "button_mic_on": "Micro activo",
    "button_muted": "Silenciado",
    "button_microphone": "Micrófono",
    "loading": "Cargando",
    "error_title": "Error",
    "error_no_key": "No hay clave para el servicio de voz",
    "error_provisioning": "El servidor de claves no entregó ninguna clave",
    "error_key_refused": "El servicio de voz rechazó la clave",
    "error_network": "Sin conexión con el servicio de voz",
    "error_server": "El servicio de voz informó de un error",
    "error_microphone": "No se encontró ningún micrófono",
    "error_speaker": "No se encontró ningún altavoz",
    "error_audio": "Falló el dispositivo de sonido",
    "error_other": "Algo salió mal",
    "renewing": "Renovando la sesión…",
    "countdown": "¿Sigue ahí? Hable o pulse ({seconds})",
    "wake_hint": "Diga «{phrase}» o pulse",
    "volume": "Volumen",
    "limit_reached": "Límite diario alcanzado; vuelva mañana",
    "device_removed": "Este dispositivo fue retirado del servidor de claves",
    "busy": "Ocupado; inténtelo de nuevo en un momento",
    "setup_title": "Configuración necesaria: no hay clave para el servicio de voz",
    "setup_no_key_source": "Sin fuente de claves: no hay URL de aprovisionamiento ni clave de "
    "API configurada",
    "setup_key_file_missing": "El archivo de clave de API {path} no existe",
    "setup_key_file_empty": "El archivo de clave de API {path} está vacío",
    "setup_ssh": "Inicie sesión en este dispositivo por SSH (ssh you@{host}.local) y luego",
    "setup_provisioning": "o bien apúntelo a un servidor suyo que entregue claves:",
    "setup_key_file": "o bien guarde en él una clave de API de OpenAI (pegue la clave y pulse "
    "Ctrl-D):",
    "setup_restart": "luego inícielo de nuevo:",
    "setup_retry": "Pulse el botón o toque la pantalla para volver a intentarlo.",
    "setup_device": "Este dispositivo: {host}  ·  {addresses}",
    "setup_no_address": "aún sin dirección de red",
    "window_title": "Asistente de voz",
}

SHIPPED: dict[str, dict[str, str]] = {"en": EN, "de": DE, "fr": FR, "es": ES}
"""The shipped label sets, by ``display.language``."""

KEYS: tuple[str, ...] = tuple(EN)
"""Every label key, in the order of the English set."""


def fields(text: str) -> set[str]:
    """The ``str.format`` fields ``text`` uses (``{seconds}`` gives ``seconds``). Raises
    :class:`ValueError` for a text ``str.format`` cannot read (a lone ``{``)."""
    out: set[str] = set()
    for _literal, name, spec, _conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a field name; write {{{{ and }}}} for braces")
        if spec and "{" in spec:
            raise ValueError("a field's format cannot hold another field")
        out.add(name)
    return out


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, str]:
    """``display.labels`` as given, if every key is a label key and every text uses only its
    key's fields; else a :class:`ValueError` naming the key and the fix."""
    problems: list[str] = []
    for key, text in overrides.items():
        if key not in EN:
            close = difflib.get_close_matches(str(key), KEYS, n=3, cutoff=0.6)
            fix = (
                f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else "see the keys in README, Languages and labels"
            )
            problems.append(f"unknown label {key!r}; {fix}")
            continue
        if not isinstance(text, str):
            problems.append(f"{key}: must be text (got {type(text).__name__})")
            continue
        allowed = fields(EN[key])
        try:
            used = fields(text)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
            continue
        unknown = sorted(used - allowed)
        if unknown:
            names = ", ".join("{" + name + "}" for name in unknown)
            known = ", ".join("{" + name + "}" for name in sorted(allowed)) or "none"
            problems.append(f"{key}: unknown field {names}; this text's fields: {known}")
    if problems:
        raise ValueError("; ".join(problems))
    return dict(overrides)


class Labels:
    """The texts of one language with the overrides applied; :meth:`text` fills in fields."""

    def __init__(
        self, language: str = DEFAULT_LANGUAGE, overrides: Mapping[str, str] | None = None
    ) -> None:
        self.language = language if language in SHIPPED else DEFAULT_LANGUAGE
        self.table = {**EN, **SHIPPED[self.language], **(overrides or {})}

    @classmethod
    def of(cls, display: Any) -> Labels:
        """The labels ``display`` (a :class:`~appliance.config.models.DisplayConfig`) asks for."""
        return cls(display.language, display.labels)

    def text(self, key: str, **values: object) -> str:
        """The text of ``key`` with ``values`` in its fields (a field without a value is kept
        as written)."""
        text = self.table[key]
        if "{" not in text:
            return text
        return string.Formatter().vformat(text, (), _Keep(values))

    def __getitem__(self, key: str) -> str:
        return self.text(key)


class _Keep(dict):
    """Format values; a field nobody gave stays ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# --- the kind of a failure ---------------------------------------------------------------------

# (label key, what the technical cause says), first match wins. The causes are the ones
# appliance/realtime and appliance/audio write (see the fault matrix in the README).
_CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.IGNORECASE))
    for key, pattern in (
        # a key server's refusals, as appliance/realtime/keys.py words them (first: the
        # server's own message, quoted in them, may hold any of the words below)
        ("limit_reached", r"^provisioning URL .*? refused a key: limit reached"),
        ("busy", r"^provisioning URL .*? refused a key: too many requests"),
        ("device_removed", r"^provisioning URL .*? refused the device token"),
        ("error_provisioning", r"^(cannot read )?the provisioning token (file|credential)"),
        (
            "error_no_key",
            r"no key source|no API key|API key (credential|file .*) is empty|"
            r"cannot read the API key file|API key file .* does not exist",
        ),
        ("renewing", r"^renewing the session"),
        ("error_microphone", r"\binput device\b|no microphone"),
        ("error_speaker", r"\boutput device\b"),
        ("error_audio", r"^audio:|PortAudio|PyAudio|audio streams"),
        ("error_key_refused", r"refused the connection: HTTP 40[13]\b"),
        (
            "error_server",
            r"^server error|^the server sent|refused the connection|refuses the beta|after: ",
        ),
        (
            "error_network",
            r"cannot connect|unreachable|connection closed|connection lost|did not answer|"
            r"stopped answering|did not start the session",
        ),
        ("error_provisioning", r"^provisioning URL"),
        ("error_key_refused", r"^key endpoint"),
    )
)


def cause_key(cause: str) -> str:
    """The label key of a failure's technical ``cause`` (``error_other`` when none fits)."""
    for key, pattern in _CAUSES:
        if pattern.search(cause):
            return key
    return "error_other"


_SETUP_REASONS = (
    ("setup_key_file_missing", re.compile(r"^the API key file (?P<path>.+) does not exist$")),
    ("setup_key_file_empty", re.compile(r"^the API key file (?P<path>.+) is empty$")),
    ("setup_no_key_source", re.compile(r"^no key source\b|^no API key: set\b")),
)


def setup_reason(reason: str) -> tuple[str, dict[str, str]] | None:
    """The label key and fields of the setup screen's ``reason`` (what is missing, from
    :func:`appliance.display.setup.missing_key`), or None for another cause (shown as is)."""
    for key, pattern in _SETUP_REASONS:
        match = pattern.search(reason)
        if match:
            return key, match.groupdict()
    return None
