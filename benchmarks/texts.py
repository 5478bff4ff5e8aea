"""Fixed texts the benchmarks speak (everyday English, so timings match ordinary use)."""

from __future__ import annotations

#: Twenty varied everyday sentences of 8-20 words: statements, questions, exclamations,
#: numbers, names and a few clauses, so sentence lengths and prosody differ.
SENTENCES: tuple[str, ...] = (
    "The weather forecast says it will rain tomorrow, so remember to bring an umbrella.",
    "Could you pick up some bread and milk on your way home tonight?",
    "Our train leaves at half past seven from platform four.",
    "I have been meaning to call my grandmother all week, but something always gets in the way.",
    "Please turn off the lights when you leave the room.",
    "The new coffee shop on Main Street opens at six in the morning and closes at noon.",
    "What time does the pharmacy close on Sundays?",
    "She finished the marathon in just under four "
    "hours, which surprised everyone, including herself.",
    "Don't forget that the meeting has been moved to Thursday afternoon.",
    "We planted tomatoes, peppers and a row of sunflowers along the back fence.",
    "My laptop battery dies after about two hours, so I always carry the charger.",
    "Wow, that was the best pizza I have eaten in years!",
    "The children spent the whole afternoon building a fort out of couch cushions and blankets.",
    "If the package doesn't arrive by Friday, we will ask for a refund.",
    "He walks the dog twice a day, once before breakfast and once after dinner.",
    "Traffic on the bridge was backed up for nearly two miles this morning.",
    "Would you rather go to the beach or stay home and watch a movie?",
    "The library is collecting old books and magazines for its annual charity sale next month.",
    "I think I left my keys on the kitchen counter next to the fruit bowl.",
    "Thanks so much for your help, I really could not have done it without you.",
)

#: Not one of :data:`SENTENCES`: warms up every path before timing starts.
WARMUP_SENTENCE = "A quick warm-up sentence before the timing begins."

#: About five seconds of speech: the line re-rendered while a slider moves.
PREVIEW_LINE = ("Thank you for calling the help desk; someone from our team will be with you "
                "in just a moment, please hold.")

#: About 500 words of ordinary prose in several paragraphs (time to first audio).
PASSAGE = """\
Every Saturday morning, my neighbor Ellen walks to the farmers market at the end of our street. \
She brings two canvas bags, a thermos of coffee, and a short list that she almost never follows. \
By the time she comes home, the bags are full of things she did not plan to buy, and she is \
usually carrying a bunch of flowers as well.

The market itself is not large. There are perhaps twenty stalls arranged in a loose circle around \
the old fountain, which has not worked for as long as anyone can remember. A baker sells bread \
that is still warm from the oven. An elderly couple sells honey in glass jars with handwritten \
labels. A young farmer from the valley brings crates of apples, potatoes, and whatever vegetables \
happen to be in season. In the summer there are strawberries and sweet corn; in the autumn there \
are pumpkins, squash, and bundles of dried herbs. On the coldest winter mornings, a man sells \
hot soup from the back of a van.

What Ellen enjoys most, she says, is not the shopping but the conversation. She knows most of the \
sellers by name, and they know her. The baker asks about her grandchildren. The honey couple tell \
her which flowers the bees have been visiting that week. The young farmer explains why the carrots \
are smaller this year, and what he plans to do differently next spring. Nobody is in a hurry. \
People stand around with their coffee, talking about the weather, the price of petrol, or the new \
traffic lights on the main road.

Last year the town council considered moving the market to a parking lot on the edge of town, \
where there would be more space and fewer complaints about noise. The idea did not last long. \
Dozens of residents wrote letters, and a few of them spoke at the council meeting, explaining \
that the market was one of the few places where neighbors still met each other face to face. \
The council listened, and the market stayed where it was.

Of course, the market has its problems. On rainy days only half of the sellers turn up, and the \
ones who do spend the morning under dripping umbrellas. Parking is difficult, and the narrow \
pavement gets crowded with prams, bicycles, and dogs. Some prices are higher than at the \
supermarket, which matters to families on a tight budget. A few of the sellers have started \
accepting cards, but many still prefer cash.

Still, when I ask Ellen whether she would ever give it up, she laughs at the question. She tells \
me that the vegetables taste better, that the bread lasts longer, and that she likes knowing \
exactly where her food comes from. Then she admits the real reason: on Saturday mornings, for an \
hour or two, the whole street feels like a village again. She says that is worth far more than \
anything she could ever carry home in her two canvas bags, and I find it hard to disagree with her.
"""
