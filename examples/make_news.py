#!/usr/bin/env python3
"""Build examples/news/ from the stories below (all written for lookalike;
places, people and events are invented).

Each story yields an original, a repost by another site (curly quotes, en
dashes, hard-wrapped lines, the site's name at the end, and an earlier edit
that still has a paragraph the newsroom later cut), and a later edit (title
and date header, one paragraph replaced, some present tense turned into
past). Each story also has a hard negative: a different article from the
same newsroom template, on a related event, with the same people and
different facts. Two stories are also syndicated word for word.
examples/news-truth.jsonl says which files belong together.

Run from the repository root: python3 examples/make_news.py
"""
import json
import os
import textwrap

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "news")

STORIES = [
    {
        "slug": "harbour-bridge",
        "title": "Harbour bridge to close for six weeks of repairs",
        "date": "3 March 2025",
        "site": "Coastline Daily",
        "paras": [
            "The council of Port Avel says the harbour bridge will close to all traffic for six weeks from Monday while engineers replace corroded steel cables.",
            "Drivers face a detour of about twenty kilometres through the inland ring road, and the council expects journeys to take up to forty minutes longer at peak times.",
            "\"We know this is painful for people who cross the bridge every day, but the cables have reached the end of their safe life,\" said council leader Mara Quist.",
            "A free shuttle ferry will run every fifteen minutes between the north and south quays from six in the morning until midnight.",
            "Local traders are worried that the closure will keep customers away from the old town during the start of the tourist season.",
            "The bridge was opened in 1968 and carries around thirty thousand vehicles a day.",
        ],
        "cut": "Engineers found the damage during a routine inspection in January, when divers noticed rust stains on two of the anchor blocks below the waterline.",
        "cut_after": 2,
        "replace": (4, "The chamber of commerce has asked the council to waive parking charges in the old town for the length of the closure to help shops and cafes."),
        "tense": [("says the harbour bridge will close", "said the harbour bridge would close"), ("expects journeys to take", "expected journeys to take")],
        "negative": [
            "The harbour bridge in Port Avel has reopened two weeks later than planned after engineers found more corroded cables than expected, the council says.",
            "Council leader Mara Quist apologised to drivers and said the overrun would cost an extra four hundred thousand euros, paid from the roads reserve.",
            "\"Nobody wanted this to take longer, but we were not going to open a bridge we could not vouch for,\" she said.",
            "The shuttle ferry, which carried more than a quarter of a million passengers during the closure, will stop running at the end of the month.",
            "Traders in the old town reported a fall in takings of about a fifth during the works and are asking for a rates holiday.",
        ],
    },
    {
        "slug": "river-flood",
        "title": "Hundreds leave homes as the River Senn floods",
        "date": "18 November 2024",
        "site": "Valley Herald",
        "paras": [
            "Hundreds of residents in the lower town of Dunmere have left their homes after the River Senn burst its banks following three days of heavy rain.",
            "Emergency crews used boats to reach families trapped on upper floors, and a sports hall on the hill has been opened as a rest centre with beds and hot food.",
            "\"The water came up faster than anyone had seen before, it was over the doorstep in less than an hour,\" said shop owner Ilse Varga.",
            "The weather service has issued a red warning for the whole valley and expects the river to peak early on Tuesday morning.",
            "Schools in the lower town will stay closed until the water has gone down and buildings have been checked for damage.",
            "The mayor, Tomas Brede, says the town will ask the regional government for emergency funds to repair roads and bridges.",
        ],
        "cut": "Power was cut to more than two thousand homes as a precaution, and the electricity company said it could not say when supplies would be restored.",
        "cut_after": 1,
        "replace": (3, "Forecasters now say the rain will ease by Wednesday, although the river is likely to stay above its normal level for the rest of the week."),
        "tense": [("have left their homes", "left their homes"), ("says the town will ask", "said the town would ask")],
        "negative": [
            "Residents of the lower town of Dunmere have begun returning home a week after the River Senn burst its banks, to find mud and ruined furniture.",
            "The mayor, Tomas Brede, says the regional government has promised emergency funds, but that the money will cover only part of the repairs.",
            "\"We have lost the shop stock and the floor, but nobody was hurt, and that is what matters,\" said Ilse Varga, who runs a bakery on the quay.",
            "Engineers are inspecting the old stone bridge, which was closed after cracks appeared in one of its arches.",
            "A public meeting on flood defences will be held at the town hall next Thursday.",
        ],
    },
    {
        "slug": "museum-theft",
        "title": "Gold brooches stolen in overnight museum raid",
        "date": "9 July 2025",
        "site": "The Evening Courier",
        "paras": [
            "Thieves broke into the city museum of Lindhaven overnight and stole six gold brooches from the early medieval collection, police say.",
            "The raiders are believed to have entered through a skylight on the roof and to have disabled an alarm on the first floor gallery.",
            "\"These pieces are irreplaceable, they tell the story of the people who lived on this coast more than a thousand years ago,\" said museum director Hanna Roost.",
            "Police have appealed for anyone who saw a white van near the museum between two and four in the morning to come forward.",
            "The museum will stay closed for at least two days while forensic officers examine the building.",
            "The brooches were found by a farmer ploughing a field near the village of Ost in 1931.",
        ],
        "cut": "Insurers have valued the brooches at about two million euros, but experts say their historical value is far higher.",
        "cut_after": 2,
        "replace": (3, "Officers say they are studying footage from cameras along the harbour road and have spoken to a taxi driver who was in the area."),
        "tense": [("police say", "police said"), ("will stay closed", "stayed closed")],
        "negative": [
            "Police in Lindhaven have recovered four of the six gold brooches stolen from the city museum last month, after a tip-off from an antiques dealer.",
            "The brooches were found wrapped in newspaper in a locker at the central railway station, officers say.",
            "\"We are overjoyed, but we will not rest until the last two pieces are back where they belong,\" said museum director Hanna Roost.",
            "Two men aged 34 and 41 have been charged with burglary and handling stolen goods and will appear in court on Friday.",
            "The museum has reopened with a new alarm system and extra guards in the early medieval gallery.",
        ],
    },
    {
        "slug": "rail-strike",
        "title": "Train drivers strike over new rotas",
        "date": "2 February 2025",
        "site": "Metro Wire",
        "paras": [
            "Most trains across the northern region are cancelled today as drivers walk out in a dispute over new working rotas.",
            "The drivers union says the rotas would force its members to work more weekends without extra pay, and that talks with the operator have broken down.",
            "\"Our members are tired of being told that goodwill will keep the trains running, goodwill has run out,\" said union secretary Piet Alder.",
            "The operator, Nordrail, says only one train an hour will run on the main line and that passengers should travel only if their journey is essential.",
            "Commuters crowded onto buses in the city centre, and some employers told staff to work from home.",
            "A second strike is planned for next Tuesday unless an agreement is reached.",
        ],
        "cut": "Nordrail said it had offered a one-off payment to drivers who accepted the new rotas, an offer the union called an insult.",
        "cut_after": 3,
        "replace": (4, "Traffic on the ring road was heavier than usual, and the city's bike hire scheme reported its busiest morning of the year."),
        "tense": [("are cancelled today as drivers walk out", "were cancelled today as drivers walked out"), ("is planned", "was planned")],
        "negative": [
            "Train drivers in the northern region have voted to accept a new deal on working rotas, ending a dispute that led to four days of strikes this winter.",
            "Under the agreement, drivers will work no more than two weekends a month and will be paid a higher rate for Sunday shifts.",
            "\"This is a fair deal and it shows what can be done when both sides listen,\" said union secretary Piet Alder.",
            "The operator, Nordrail, says timetables will return to normal from Monday and that season ticket holders will receive compensation.",
            "The strikes cost the operator an estimated three million euros in lost fares.",
        ],
    },
    {
        "slug": "school-meals",
        "title": "Free school meals to be extended to all primary pupils",
        "date": "21 August 2025",
        "site": "Family Post",
        "paras": [
            "Every primary school pupil in the province of Westmark will receive a free hot lunch from September, the provincial government has announced.",
            "The scheme will cost about forty million euros a year and will be paid for by a new levy on sugary drinks, education minister Carla Jens says.",
            "\"No child should sit in a classroom hungry, it is as simple as that,\" she told reporters at a school in the town of Brill.",
            "Head teachers welcomed the plan but warned that many schools do not have kitchens large enough to cook for every pupil.",
            "The government says it will set aside five million euros to build or extend school kitchens over the next two years.",
            "Around one in eight children in the province lives in a household that struggles to afford food, according to the statistics office.",
        ],
        "cut": "Opposition parties said the drinks levy would hit poorer families hardest and called for the scheme to be funded from general taxation.",
        "cut_after": 3,
        "replace": (4, "Some schools will serve cold lunches at first and switch to hot meals once new kitchens are ready, the ministry says."),
        "tense": [("will receive a free hot lunch", "would receive a free hot lunch"), ("Head teachers welcomed", "Head teachers have welcomed")],
        "negative": [
            "A year after free school lunches were introduced for every primary pupil in Westmark, head teachers say attendance has risen and behaviour has improved.",
            "Education minister Carla Jens says the scheme has cost slightly less than expected because fewer meals were wasted than planned.",
            "\"Teachers tell me children are calmer in the afternoon and learn more, and that is worth every cent,\" she said on a visit to a school in Brill.",
            "Some schools are still waiting for new kitchens and are serving cold lunches, which parents say children like less.",
            "The levy on sugary drinks raised more than the scheme cost, and the surplus will go to school sports.",
        ],
    },
    {
        "slug": "wildfire",
        "title": "Wildfire forces evacuation of hillside villages",
        "date": "14 August 2024",
        "site": "Southern Observer",
        "paras": [
            "Firefighters are battling a wildfire that has burned more than three thousand hectares of pine forest in the hills above the town of Sarra.",
            "Four villages have been evacuated, and about twelve hundred people are spending the night in schools and sports halls along the coast.",
            "\"The wind keeps changing direction, and every time it does the fire jumps to a new valley,\" said regional fire chief Anton Melis.",
            "Water-bombing planes from two neighbouring countries have joined the effort, and more are expected tomorrow.",
            "Temperatures have stayed above forty degrees for a week, and the forest is drier than at any time in the past decade.",
            "Police say they are investigating whether the fire was started deliberately.",
        ],
        "cut": "A firefighter was taken to hospital with burns to his hands and arms, but his injuries are not thought to be life-threatening.",
        "cut_after": 2,
        "replace": (3, "The national government has sent two hundred soldiers to help clear firebreaks and move livestock out of the path of the flames."),
        "tense": [("Firefighters are battling", "Firefighters were battling"), ("Police say they are investigating", "Police said they were investigating")],
        "negative": [
            "Residents of four villages above Sarra have been allowed home after last month's wildfire, which burned almost five thousand hectares of forest.",
            "Regional fire chief Anton Melis says the fire was finally put out after heavy rain on Sunday night, ending three weeks of work by crews.",
            "\"Some people have come back to nothing but ash, and we will help them rebuild,\" said the mayor of Sarra, Lidia Corvo.",
            "A 52-year-old man has been arrested on suspicion of starting the fire by burning garden waste on a windy day.",
            "Foresters say it will take at least thirty years for the pine forest to recover.",
        ],
    },
    {
        "slug": "ferry-aground",
        "title": "Passenger ferry runs aground off Kessel Island",
        "date": "27 September 2025",
        "site": "Islands Today",
        "paras": [
            "A passenger ferry carrying two hundred and forty people has run aground on a sandbank off Kessel Island in thick fog, the coastguard says.",
            "Nobody was hurt, and passengers were taken off in lifeboats and fishing boats and brought to the island harbour within three hours.",
            "\"We felt a long scrape under the floor and then the ship just stopped, but the crew were calm and knew exactly what to do,\" said passenger Erik Lund.",
            "The ferry company says it will try to refloat the vessel at high tide tonight with the help of two tugs.",
            "All crossings to the island are cancelled until further notice, and the company is arranging hotel rooms for stranded travellers.",
            "An investigation into how the ferry left the marked channel has been opened by the maritime safety board.",
        ],
        "cut": "The captain had reported a fault with the ship's radar shortly before it left the mainland, according to a crew member who asked not to be named.",
        "cut_after": 3,
        "replace": (4, "A smaller boat will run a limited service for islanders with medical appointments on the mainland from tomorrow morning."),
        "tense": [("has run aground", "ran aground"), ("says it will try", "said it would try")],
        "negative": [
            "The maritime safety board says the ferry that ran aground off Kessel Island last month left the marked channel because its radar had failed.",
            "Its report finds that the crew continued the crossing in fog without working radar, against the company's own rules.",
            "\"The passengers were lucky, and luck is not a safety system,\" said the board's chief investigator, Greta Holm.",
            "The ferry company says it has replaced the radar on all its ships and retrained its captains.",
            "Passenger Erik Lund, who was on board, says he still feels uneasy when he takes the crossing.",
        ],
    },
    {
        "slug": "library-reopens",
        "title": "City library reopens after three-year rebuild",
        "date": "5 May 2025",
        "site": "Culture Weekly",
        "paras": [
            "The central library of Oberfeld has reopened after a three-year rebuild that added a roof garden, a children's wing and a hall for concerts and talks.",
            "Hundreds of people queued in the rain before the doors opened, and the library lent more than four thousand books on its first day.",
            "\"A library is the one place in a city where you are welcome whether you have money or not,\" said chief librarian Josef Amsel.",
            "The rebuild cost sixty-two million euros, eight million more than planned, after problems with the foundations of the old building.",
            "The library will be open from eight in the morning until ten at night every day of the week, including Sundays.",
            "Its collection has grown to almost a million items, including a new archive of recordings of local music.",
        ],
        "cut": "Critics had called the project a vanity scheme and said the money would have been better spent on branch libraries in the suburbs.",
        "cut_after": 3,
        "replace": (5, "Visitors can also borrow tools, sewing machines and musical instruments, a service the city says is the first of its kind in the country."),
        "tense": [("will be open", "is to be open"), ("has reopened", "reopened")],
        "negative": [
            "Six months after it reopened, the central library of Oberfeld says it has welcomed more than a million visitors, three times as many as before the rebuild.",
            "Chief librarian Josef Amsel says the children's wing is so popular that it will open earlier on Saturdays from next month.",
            "\"People come for a book and stay for the afternoon, which is exactly what we hoped for,\" he said.",
            "The city council has agreed to keep the Sunday opening hours, which had been funded only for a trial year.",
            "Two branch libraries in the suburbs will be rebuilt next, at a cost of twelve million euros.",
        ],
    },
]

# Articles that are neither copies nor hard negatives: every tool must leave them alone.
SINGLES = {
    "singles/market-report.txt": "Shares in Avel Shipping rose by a tenth on Wednesday after the company said profits for the first half of the year had doubled, helped by higher freight rates on routes to Asia. The company also raised its dividend and said it would buy four new container ships. Analysts said the results were better than expected but warned that freight rates were likely to fall later in the year as new ships entered service across the industry.",
    "singles/weather-week.txt": "The coming week will start cool and cloudy in the north, with showers on Monday and Tuesday, while the south stays dry and bright. From Wednesday a ridge of high pressure will bring sunshine to most areas, and temperatures will climb to the mid twenties by the weekend. Farmers are being advised that the dry spell could last well into the following week, which would help with the late harvest.",
    "singles/chess-final.txt": "The eighteen-year-old Anya Koval has won the national chess championship in Brill, beating the defending champion in a tense final game that lasted more than six hours. Koval, who learned to play at a club in a village library, sacrificed a rook in the middle game and never let her opponent recover. She will represent the country at the world junior championship in the autumn.",
    "singles/empty-draft.txt": "",
    "singles/short-note.txt": "Correction: an earlier version of this page gave the wrong date for the concert.",
}


def curly(text):
    """The repost site's typography: curly quotes and apostrophes, en dashes."""
    out, open_quote = [], True
    for ch in text:
        if ch == '"':
            out.append("\u201c" if open_quote else "\u201d")
            open_quote = not open_quote
        elif ch == "'":
            out.append("\u2019")
        else:
            out.append(ch)
    return "".join(out).replace(" - ", " \u2013 ")


def main():
    os.makedirs(os.path.join(OUT, "singles"), exist_ok=True)
    truth = []
    files = {}
    for n, s in enumerate(STORIES):
        paras = list(s["paras"])
        # The original.
        files[f"{s['slug']}/original.txt"] = "\n\n".join(paras) + "\n"
        # The repost: an earlier edit with the paragraph later cut, the repost
        # site's typography, hard-wrapped lines and its name at the end.
        early = paras[: s["cut_after"] + 1] + [s["cut"]] + paras[s["cut_after"] + 1 :]
        wrapped = "\n".join(textwrap.fill(curly(p), width=64) for p in early)
        files[f"{s['slug']}/repost.txt"] = wrapped + "\n" + s["site"] + "\n"
        # The later edit: header, one paragraph replaced, tenses changed.
        edited = list(paras)
        i, new = s["replace"]
        edited[i] = new
        body = "\n\n".join(edited)
        for old, new in s["tense"]:
            assert old in body, (s["slug"], old)
            body = body.replace(old, new, 1)
        files[f"{s['slug']}/update.txt"] = f"{s['title']}\n\n{s['date']}\n\n{body}\n"
        # The hard negative: same template and people, different facts.
        files[f"{s['slug']}/follow-up.txt"] = "\n\n".join(s["negative"]) + "\n"
        # Two stories are also syndicated word for word: only typography and
        # line breaks differ, so they are exact duplicates after normalisation.
        versions = ["original", "repost", "update"]
        if n < 2:
            files[f"{s['slug']}/syndicated.txt"] = textwrap.fill(curly(" ".join(paras)), width=50) + "\n"
            versions.append("syndicated")
        for v in versions:
            truth.append({"id": f"{s['slug']}/{v}.txt", "cluster": n})
        truth.append({"id": f"{s['slug']}/follow-up.txt", "cluster": 100 + n})
    for i, (path, text) in enumerate(SINGLES.items()):
        files[path] = text + ("\n" if text else "")
        truth.append({"id": path, "cluster": 200 + i})
    for path, text in files.items():
        full = os.path.join(OUT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
    truth.sort(key=lambda t: t["id"])
    with open(os.path.join(os.path.dirname(OUT), "news-truth.jsonl"), "w") as f:
        for t in truth:
            f.write(json.dumps(t) + "\n")


if __name__ == "__main__":
    main()
