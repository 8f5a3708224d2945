"""Invented film titles, people and genres for generated films.

Scenarios list the films that matter by hand and let the generator fill the rest of a cinema's
repertoire (Kino Krakow shows about 100 films) from these pools. The titles are fictional so that
nobody mistakes simulator data for a real listing, and none of them needs the title normalisation
of origin-system 1.5 (no "3D", "dubbing", "(2025)" suffixes), so a film's search title is exact.
"""

from __future__ import annotations

#: (Polish title, English original) of English-language films.
ENGLISH: tuple[tuple[str, str], ...] = (
    ("Ciche miasto", "The Quiet Town"),
    ("Ostatni przystanek", "Last Stop"),
    ("Nocny pociąg do Bostonu", "Night Train to Boston"),
    ("Zimna krew", "Cold Blood"),
    ("Dziewczyna z latarni", "The Lighthouse Girl"),
    ("Pod powierzchnią", "Beneath the Surface"),
    ("Czerwony horyzont", "Red Horizon"),
    ("Złodziej czasu", "The Time Thief"),
    ("Długa droga do domu", "The Long Way Home"),
    ("Wyspa wilków", "Wolf Island"),
    ("Szklany ogród", "The Glass Garden"),
    ("Ostatnie lato", "The Last Summer"),
    ("Bez śladu", "Without a Trace"),
    ("Miasto aniołów stróżów", "City of Guardian Angels"),
    ("Sekretne życie pszczół miodnych", "The Secret Life of Honeybees"),
    ("Kapitan Burza", "Captain Storm"),
    ("Tajemnica starego młyna", "The Mystery of the Old Mill"),
    ("Gwiezdny kurier", "Star Courier"),
    ("Dom na wzgórzu", "The House on the Hill"),
    ("Ucieczka z Alcatraz Bay", "Escape from Alcatraz Bay"),
    ("Wielki skok na Manhattan", "The Manhattan Heist"),
    ("Król pustyni", "King of the Desert"),
    ("Rodzinny interes", "Family Business"),
    ("Siódme niebo", "Seventh Heaven"),
    ("Mroczna rzeka", "Dark River"),
    ("Ostatni smok", "The Last Dragon"),
    ("Pies, który umiał latać", "The Dog Who Could Fly"),
    ("Zaginiona flota", "The Lost Fleet"),
    ("Kod milczenia", "Code of Silence"),
    ("Nad jeziorem", "By the Lake"),
    ("Łowcy burz", "Storm Chasers"),
    ("Czas żniw", "Harvest Time"),
    ("Sąsiedzi z piekła", "Neighbours from Hell"),
    ("Mała wielka gwiazda", "Little Big Star"),
    ("Ostatni taniec", "The Last Dance"),
    ("Cień nad miastem", "Shadow over the City"),
    ("Wszystkie nasze jutra", "All Our Tomorrows"),
    ("Północny wiatr", "North Wind"),
    ("Przepis na miłość", "A Recipe for Love"),
    ("Agent bez nazwiska", "Agent Without a Name"),
    ("Srebrna strzała", "Silver Arrow"),
    ("Ogień w sercu", "Fire in the Heart"),
    ("Ziemia obiecana Kalifornia", "Promised Land California"),
    ("Piąta pora roku", "The Fifth Season"),
    ("Rewolwer i róża", "The Revolver and the Rose"),
)

#: Polish films (the original title is the Polish one).
POLISH: tuple[str, ...] = (
    "Wesele u Kowalskich",
    "Zimowy ogród",
    "Listy do Hanki",
    "Kamienica przy Długiej",
    "Powrót do Zalesia",
    "Ostatni kurs",
    "Mgła nad Wisłą",
    "Dziewczyny z Nowej Huty",
    "Cicha noc w Bieszczadach",
    "Sąsiad",
    "Pani od polskiego",
    "Ballada o Janku",
    "Wakacje nad Bałtykiem",
    "Biały kruk",
    "Kasztanowa aleja",
    "Tata na pół etatu",
    "Noc w Kazimierzu",
    "Szkoła w Bronowicach",
    "Pierwsza miłość Zosi",
    "Złota jesień",
    "Rodzina Zawadzkich",
    "Ostatni seans w Mikro",
    "Kolęda dla dorosłych",
    "Przystanek Podgórze",
    "Wielki mały człowiek",
)

#: (Polish title, original title, ISO 639-1 language, country) of films in other languages.
OTHER: tuple[tuple[str, str, str, str], ...] = (
    ("Letnie ogrody", "Les Jardins d'été", "fr", "Francja"),
    ("Paryskie noce", "Nuits de Paris", "fr", "Francja"),
    ("Dom nad rzeką", "La Maison sur la rivière", "fr", "Francja"),
    ("Rzymskie wakacje Giulii", "Le vacanze di Giulia", "it", "Włochy"),
    ("Ostatni pociąg do Neapolu", "L'ultimo treno per Napoli", "it", "Włochy"),
    ("Ogród w Sewilli", "El jardín de Sevilla", "es", "Hiszpania"),
    ("Dzieci słońca", "Los niños del sol", "es", "Hiszpania"),
    ("Zimowa podróż", "Winterreise", "de", "Niemcy"),
    ("Berliński tramwaj", "Die Berliner Straßenbahn", "de", "Niemcy"),
    ("Fiord", "Fjorden", "no", "Norwegia"),
    ("Białe noce w Sztokholmie", "Vita nätter i Stockholm", "sv", "Szwecja"),
    ("Praskie opowieści", "Pražské povídky", "cs", "Czechy"),
    ("Herbata z jaśminem", "Jasmine Tea", "ko", "Korea Południowa"),
    ("Wiśniowy sad w Kioto", "Kyoto no sakuranbo", "ja", "Japonia"),
    ("Step", "Steppe", "uk", "Ukraina"),
)

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("James", "Emma", "Michael", "Olivia", "Daniel", "Sarah", "Thomas", "Grace"),
    "pl": ("Anna", "Piotr", "Katarzyna", "Tomasz", "Agnieszka", "Marcin", "Magdalena", "Paweł"),
    "other": ("Claire", "Marco", "Lucía", "Jonas", "Ingrid", "Jiří", "Min-jun", "Yuki"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Walker", "Bennett", "Hughes", "Carter", "Morgan", "Foster", "Reed", "Sullivan"),
    "pl": ("Nowak", "Wiśniewska", "Zieliński", "Kamińska", "Lewandowski", "Dąbrowska", "Mazur", "Krawczyk"),
    "other": ("Moreau", "Rossi", "García", "Becker", "Lindqvist", "Novák", "Park", "Tanaka"),
}

#: Genre attribute ids as Cinema City writes them, with the Polish names Kino Krakow prints.
GENRES: dict[str, str] = {
    "action": "akcja",
    "adventure": "przygodowy",
    "animation": "animacja",
    "biography": "biograficzny",
    "comedy": "komedia",
    "crime": "kryminał",
    "documentary": "dokumentalny",
    "drama": "dramat",
    "family": "familijny",
    "fantasy": "fantasy",
    "horror": "horror",
    "musical": "musical",
    "romance": "romans",
    "sci-fi": "sci-fi",
    "thriller": "thriller",
}

#: Languages that TMDB's near-miss candidates are given: never "en", never the film's own.
OTHER_LANGUAGES: tuple[str, ...] = ("cs", "de", "hu", "sv", "it")
