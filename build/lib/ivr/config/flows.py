"""A line's flow file: greeting, warning, menus, keys and professional shortcuts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.config import yamlfile
from ivr.config.fields import Reader, brief, phone
from ivr.core.model import Flow, Keys, Menu, Option, Schedule, Service, Shortcut
from ivr.core.speech import words_of

WORDS_PER_MINUTE = 160  # a calm speaking voice; Polly's default rate is close to it
URGENT_WITHIN = 15  # seconds from the start of the call until "press 1" for the urgent service
MAX_OPTIONS = 9

_FLOW_KEYS = ("line", "name", "greeting", "warning", "start", "menus", "front_door")
_FLOW_OPTIONAL = ("numbers", "voice", "language", "keys", "tries", "shortcuts", "urgent_service")


def read_flow(
    r: Reader, doc: yamlfile.Mapping, key: str, schedule: Schedule | None, claimed: dict[str, str] | None = None
) -> Flow | None:
    """The flow file, checked against the line's schedule; `claimed` maps each Twilio number
    already listed by another line to where ("flows/x.yaml:7"), and gains this line's."""
    r.fields(doc, "", _FLOW_KEYS, _FLOW_OPTIONAL)
    if r.text(doc, "line", "") != key:
        r.problem(doc.line_of("line"), "line", f"must be {brief(key)}, the file's name")
    keys_node = r.mapping(doc, "keys", "")
    r.fields(keys_node, "keys", (), ("repeat", "back", "shortcut"))
    keys = Keys(
        repeat=r.text(keys_node, "repeat", "keys", "9"),
        back=r.text(keys_node, "back", "keys", "0"),
        shortcut=r.text(keys_node, "shortcut", "keys", "*"),
    )
    reserved = {keys.repeat: "repeat", keys.back: "back", keys.shortcut: "shortcut"}
    if len(reserved) != 3 or not all(len(k) == 1 and k in "0123456789*#" for k in reserved):
        r.problem(keys_node.line, "keys", "repeat, back and shortcut must be three different single keys")
    numbers = _numbers(r, r.sequence(doc, "numbers", ""), {} if claimed is None else claimed)
    services = schedule.services if schedule else None
    menu_node = r.mapping(doc, "menus", "")
    menus, option_lines = _menus(r, menu_node, reserved, services)
    shortcuts = _shortcuts(r, r.sequence(doc, "shortcuts", ""), schedule)
    tries = doc.get("tries", 3)
    if not isinstance(tries, int) or isinstance(tries, bool) or not 1 <= tries <= 5:
        r.problem(doc.line_of("tries"), "tries", "expected a whole number from 1 to 5")
        tries = 3
    flow = Flow(
        line=key,
        name=r.text(doc, "name", ""),
        greeting=r.text(doc, "greeting", ""),
        warning=r.text(doc, "warning", ""),
        start=r.text(doc, "start", ""),
        menus=menus,
        shortcuts=shortcuts,
        front_door=r.text(doc, "front_door", ""),
        urgent_service=r.text(doc, "urgent_service", "", "child-at-risk"),
        numbers=tuple(numbers),
        voice=r.text(doc, "voice", "", "Polly.Amy"),
        language=r.text(doc, "language", "", "en-GB"),
        keys=keys,
        tries=tries,
        path=r.path,
    )
    if flow.start not in menus:
        r.problem(doc.line_of("start"), "start", f"unknown menu {brief(flow.start)}")
    if schedule is not None:
        front = schedule.destinations.get(flow.front_door)
        if front is None or front.number is None:
            r.problem(doc.line_of("front_door"), "front_door", f"{brief(flow.front_door)} is not a destination with a number")
        urgent = schedule.services.get(flow.urgent_service)
        if urgent is None or not urgent.always_open:
            r.problem(
                doc.line_of("urgent_service"),
                "urgent_service",
                f"{brief(flow.urgent_service)} must be a service marked always_open",
            )
    menu_lines = {k: menu_node.line_of(k) for k in menus}
    _check_menu_exits(flow, menu_lines, r)
    _check_warning(r, doc, flow)
    if _check_urgent_first(r, flow, menu_lines, option_lines):
        _check_urgent_heard_soon(r, flow, option_lines)
    _check_urgent_reachable(r, flow, menu_lines)
    return flow


def _numbers(r: Reader, nodes: yamlfile.Sequence, claimed: dict[str, str]) -> tuple[str, ...]:
    """The Twilio numbers that ring this line; each may ring one line only, or a call could not find its line."""
    numbers: list[str] = []
    for index, text in enumerate(nodes):
        where, line = f"numbers[{index}]", nodes.line_of(index)
        number = phone(r, str(text), line, where)
        if number is None:
            continue
        if number in numbers:
            r.problem(line, where, f"{number} is listed twice; remove one")
        elif number in claimed:
            r.problem(line, where, f"{number} already rings another line ({claimed[number]}); a number can ring one line only")
        else:
            claimed[number] = f"{r.path}:{line}"
            numbers.append(number)
    return tuple(numbers)


def _menus(
    r: Reader, node: yamlfile.Mapping, reserved: dict[str, str], services: dict[str, Service] | None
) -> tuple[dict[str, Menu], dict[str, list[int]]]:
    """The menus, and the line of each option of each menu."""
    menus: dict[str, Menu] = {}
    option_lines: dict[str, list[int]] = {}
    for key, value in node.items():
        where = f"menus.{key}"
        item = r.fields(value, where, ("options",), ("intro", "speech"))
        if item is None:
            continue
        options: list[Option] = []
        option_nodes = r.sequence(item, "options", where)
        if not option_nodes:
            r.problem(item.line, where, "a menu needs at least one option")
        elif len(option_nodes) > MAX_OPTIONS:
            r.problem(
                node.line_of(key),
                where,
                f"offers {len(option_nodes)} options; at most {MAX_OPTIONS} fit the keypad and a caller's memory: "
                "move some into a sub-menu",
            )
        option_lines[key] = [option_nodes.line_of(i) for i in range(len(option_nodes))]
        spoken: list[tuple[str, list[_Spoken]]] = []
        for index, option_node in enumerate(option_nodes):
            owhere = f"{where}.options[{index}]"
            option = r.fields(option_node, owhere, ("key", "label"), ("service", "menu", "words", "word"))
            if option is None:
                continue
            digit = r.text(option, "key", owhere)
            if len(digit) != 1 or digit not in "0123456789#":
                r.problem(option.line_of("key"), f"{owhere}.key", f"{brief(digit)} is not a single keypad key")
            elif digit in reserved:
                r.problem(option.line_of("key"), f"{owhere}.key", f"{brief(digit)} is the line's {reserved[digit]} key")
            elif any(o.key == digit for o in options):
                r.problem(option.line_of("key"), f"{owhere}.key", f"duplicate key {brief(digit)} in menu {brief(key)}")
            if ("service" in option) == ("menu" in option):
                r.problem(option.line, owhere, "give exactly one of 'service' or 'menu'")
            service = r.text(option, "service", owhere)
            if service and services is not None and service not in services:
                r.problem(option.line_of("service"), f"{owhere}.service", f"unknown service {brief(service)}")
            target = r.text(option, "menu", owhere)
            if target and target not in node:
                r.problem(option.line_of("menu"), f"{owhere}.menu", f"unknown menu {brief(target)}")
            words = _option_words(r, option, owhere)
            spoken.append((digit, words))
            options.append(
                Option(
                    key=digit,
                    label=r.text(option, "label", owhere),
                    service=r.text(option, "service", owhere) or None,
                    menu=r.text(option, "menu", owhere) or None,
                    words=tuple(w.text for w in words),
                )
            )
        menus[key] = Menu(key, r.text(item, "intro", where), tuple(options), r.flag(item, "speech", where))
        _check_words(r, key, node.line_of(key), spoken, menus[key].speech)
    return menus, option_lines


# -- speech: the words and phrases a caller may say instead of a key ------------------------------

# Twilio's hints are "a comma-separated list of up to 500 entries, each entry can be 100 characters
# or fewer, and each word in a phrase must be separated by a space" (twilio.com/docs/api/errors/13330).
MAX_HINTS = 500
MAX_HINT_LENGTH = 100
_SAYABLE = re.compile(r"^[^\W_]+(?:(?: |'|\u2019|-)[^\W_]+)*$")


@dataclass(frozen=True, slots=True)
class _Spoken:
    """One word or phrase of an option, as written (lower case), with where it was written."""

    text: str
    line: int
    field: str


def _option_words(r: Reader, option: yamlfile.Mapping, where: str) -> list[_Spoken]:
    """An option's words and phrases: `words` (a list), or the older single `word`; each checked alone."""
    if "word" in option and "words" in option:
        r.problem(option.line_of("word"), f"{where}.word", "give 'words' (a list) or the older 'word', not both")
        return []
    if "word" in option:
        text = r.text(option, "word", where)
        items = [(text, option.line_of("word"), f"{where}.word")] if text else []
    else:
        nodes = r.sequence(option, "words", where)
        items = [(node, nodes.line_of(i), f"{where}.words[{i}]") for i, node in enumerate(nodes)]
    result = []
    for value, line, field_name in items:
        if not isinstance(value, str):
            r.problem(line, field_name, f"{brief(value)} is not a word or phrase: write it in quotes")
            continue
        text = " ".join(value.lower().split())
        if len(text) > MAX_HINT_LENGTH:
            r.problem(line, field_name, f"{brief(text)} is longer than Twilio's {MAX_HINT_LENGTH} characters for a hint")
        elif not _SAYABLE.match(text):
            r.problem(
                line,
                field_name,
                f"{brief(text)}: use letters and digits, words separated by spaces (an apostrophe or hyphen may join two); "
                "Twilio's hints are a comma-separated list",
            )
        else:
            result.append(_Spoken(text, line, field_name))
    return result


def _check_words(r: Reader, key: str, line: int, spoken: list[tuple[str, list[_Spoken]]], speech: bool) -> None:
    """A word or phrase names one option of its menu, once: said, it must choose that option and no other."""
    where = f"menus.{key}"
    seen: dict[tuple[str, ...], tuple[str, _Spoken]] = {}
    for digit, words in spoken:
        for word in words:
            heard = words_of(word.text)  # as a caller's words are compared: "children's" is "children"
            if heard in seen:
                first_key, first = seen[heard]
                whose = "this option" if first_key == digit else f"option {first_key}"
                r.problem(
                    word.line,
                    word.field,
                    f"{brief(word.text)} is already a word of {whose} in menu {brief(key)} "
                    f"(line {first.line}): a spoken word must name one option, once",
                )
            else:
                seen[heard] = (digit, word)
    if seen and not speech:
        r.warn(line, where, "its options have words, but callers cannot say them: add 'speech: true' or remove the words")
    if len(seen) > MAX_HINTS:
        r.problem(line, where, f"has {len(seen)} words and phrases; Twilio takes at most {MAX_HINTS} hints for one menu")


def _shortcuts(r: Reader, nodes: yamlfile.Sequence, schedule: Schedule | None) -> dict[str, Shortcut]:
    result: dict[str, Shortcut] = {}
    for index, node in enumerate(nodes):
        where = f"shortcuts[{index}]"
        item = r.fields(node, where, ("code", "name", "service"), ("expects",))
        if item is None:
            continue
        code = r.text(item, "code", where)
        if not code.isdigit() or not 1 <= len(code) <= 4:
            r.problem(item.line_of("code"), f"{where}.code", f"{brief(code)} is not a code of 1 to 4 digits")
            continue
        clash = next((c for c in result if c.startswith(code) or code.startswith(c)), None)
        if clash is not None:
            r.problem(
                item.line_of("code"),
                f"{where}.code",
                f"{brief(code)} clashes with shortcut {brief(clash)} (one is the start of the other)",
            )
            continue
        service, expects = r.text(item, "service", where), r.text(item, "expects", where)
        if schedule is not None and service not in schedule.services:
            r.problem(item.line_of("service"), f"{where}.service", f"unknown service {brief(service)}")
            continue
        if schedule is not None and expects and expects not in schedule.destinations:
            r.problem(item.line_of("expects"), f"{where}.expects", f"unknown destination {brief(expects)}")
            continue
        result[code] = Shortcut(code, r.text(item, "name", where), service, expects)
    return result


def _menus_reaching(flow: Flow, targets: set[str]) -> set[str]:
    """`targets` and every menu from which an option leads, menu by menu, to one of them."""
    found = set(targets)
    changed = True
    while changed:
        changed = False
        for menu in flow.menus.values():
            if menu.key not in found and any(o.menu in found for o in menu.options):
                found.add(menu.key)
                changed = True
    return found


def _check_menu_exits(flow: Flow, lines: dict[str, int], r: Reader) -> None:
    """Every menu must be reachable from the start and must lead, somehow, to a service."""
    leads_out = _menus_reaching(flow, {m.key for m in flow.menus.values() if any(o.service for o in m.options)})
    for menu in flow.menus.values():
        if menu.key not in leads_out:
            r.problem(lines[menu.key], f"menus.{menu.key}", "leads only back into menus: no option ever reaches a service")
    seen, todo = set(), [flow.start]
    while todo:
        key = todo.pop()
        if key in seen or key not in flow.menus:
            continue
        seen.add(key)
        todo.extend(o.menu for o in flow.menus[key].options if o.menu)
    for key in flow.menus:
        if key not in seen:
            r.problem(lines[key], f"menus.{key}", f"no option leads here from the start menu {brief(flow.start)}")


# -- safety: the caller at risk hears the 999 warning and the urgent option first ----------------

_999 = re.compile(r"\b999\b|\bnine nine nine\b", re.IGNORECASE)


def _check_warning(r: Reader, doc: yamlfile.Mapping, flow: Flow) -> None:
    """The 999 warning is said before any option (after the greeting), so it must say 999."""
    if not isinstance(doc.get("warning"), str):
        return  # missing or not text: already a problem
    if not flow.warning:
        r.problem(
            doc.line_of("warning"),
            "warning",
            "is empty; callers must hear it before any option: write, for example, "
            "'If a child is in immediate danger, hang up and call 999.'",
        )
    elif not _999.search(flow.warning):
        r.problem(
            doc.line_of("warning"),
            "warning",
            "does not mention 999; tell callers to call 999 if a child is in immediate danger",
        )


def _check_urgent_first(r: Reader, flow: Flow, menu_lines: dict[str, int], option_lines: dict[str, list[int]]) -> bool:
    """The start menu's first option is the urgent service, on key 1; True when it is."""
    menu = flow.menus.get(flow.start)
    if menu is None or not menu.options:
        return False  # no start menu, or no options: already a problem
    urgent = flow.urgent_service
    where = f"menus.{flow.start}"
    found = [i for i, option in enumerate(menu.options) if option.service == urgent]
    if not found:
        r.problem(
            menu_lines[flow.start],
            where,
            f"the start menu must offer {brief(urgent)}, the urgent service, as its first option on key 1; "
            f'add it at the top: - {{key: "1", service: {urgent}, label: ...}}',
        )
        return False
    index = found[0]
    option = menu.options[index]
    if index != 0:
        r.problem(
            option_lines[flow.start][index],
            f"{where}.options[{index}]",
            f"the urgent service {brief(urgent)} is option {index + 1} of {len(menu.options)}, on key {option.key}; "
            "move it to the top of the menu, on key 1",
        )
        return False
    if option.key != "1":
        r.problem(
            option_lines[flow.start][0],
            f"{where}.options[0].key",
            f"the urgent service {brief(urgent)} is on key {option.key}; give it key 1",
        )
        return False
    return True


def _check_urgent_heard_soon(r: Reader, flow: Flow, option_lines: dict[str, list[int]]) -> None:
    """Option 1 ("..., press 1") ends within URGENT_WITHIN seconds of the start of the call."""
    menu = flow.menus[flow.start]
    parts = {
        "greeting": flow.greeting,
        "warning": flow.warning,
        "intro": menu.intro,
        "option 1": f"{menu.options[0].label}, press 1",  # as the call flow says it
    }
    counts = {name: spoken_words(text) for name, text in parts.items()}
    total = sum(counts.values())
    limit = URGENT_WITHIN * WORDS_PER_MINUTE // 60
    if total > limit:
        seconds = total * 60 / WORDS_PER_MINUTE
        detail = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
        r.problem(
            option_lines[flow.start][0],
            f"menus.{flow.start}.options[0]",
            f"option 1 is heard {seconds:.1f} s into the call, after {total} words ({detail}) at {WORDS_PER_MINUTE} "
            f"words a minute; it must be heard within {URGENT_WITHIN} s ({limit} words): shorten the words before it",
        )


def spoken_words(text: str) -> int:
    """Words as a voice says them: a number of three digits or more is read digit by digit (999)."""
    words = re.findall(r"\w+(?:['\u2019]\w+)*", text)
    return sum(len(w) if w.isdigit() and len(w) >= 3 else 1 for w in words)


def _check_urgent_reachable(r: Reader, flow: Flow, menu_lines: dict[str, int]) -> None:
    """From every menu a caller can reach the urgent service: through its options, or by going
    back (the back key returns along the menus walked, to the start menu at the latest)."""
    urgent = flow.urgent_service
    reaches = _menus_reaching(flow, {m.key for m in flow.menus.values() if any(o.service == urgent for o in m.options)})
    back_is_safe = flow.start in reaches
    for menu in flow.menus.values():
        if menu.key in reaches or menu.key == flow.start or back_is_safe:
            continue  # the start menu's own problem is reported by _check_urgent_first
        r.problem(
            menu_lines[menu.key],
            f"menus.{menu.key}",
            f"cannot reach {brief(urgent)}: no option leads there and going back (key {flow.keys.back}) ends at the "
            f"start menu, which does not offer it; offer {brief(urgent)} first in the start menu",
        )
