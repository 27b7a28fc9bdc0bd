"""The communities of Leeds that the demo cohort is drawn from, and how each agency codes them.

Given and family names are common ones in each community, combined at random, so no combination
stands for a real child. Ethnicity is coded per domain.md §3: police 18+1 (``sde``) and IC codes,
the NHS ethnic category, DfE census codes and the ONS 2021 label. Roma has no 18+1 code and is W9.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Community:
    """One community, with the names its children carry and what each agency records about them."""

    name: str
    weight: float
    boys: tuple[str, ...]
    girls: tuple[str, ...]
    families: tuple[str, ...]
    sde: str
    nhs: str
    dfe: tuple[str, ...]
    ons: str
    ic: tuple[str, ...]
    languages: tuple[str, ...]
    religions: tuple[str, ...]
    nationalities: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # How a girl's family name is formed: "slovak" (Horváth -> Horváthová), "polish" (-ski -> -ska).
    surnames: str = ""
    double_barrel: float = 0.0
    interpreter: float = 0.0
    # Given names that often lead a boy's name ("Mohammed Bilal"), which other agencies drop.
    prefixes: tuple[str, ...] = ()
    # Family name is the father's given name, so agencies sometimes swap the two.
    patronymic: bool = False


def _n(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WB_BOYS = _n(
    "Jack Harry Charlie Oliver Alfie Thomas Jacob Riley Kai Tyler Callum Liam Connor Jordan Lewis Kyle "
    "Brandon Ethan Mason Logan Jake Reece Bailey Owen Leo Alexander Joshua Daniel Matthew Samuel "
    "Benjamin James William Michael"
)
_WB_GIRLS = _n(
    "Chloe Ellie Amelia Olivia Jessica Leah Megan Lacey Courtney Paige Demi Keeley Holly Mia Ruby Grace "
    "Lily Sophie Evie Kayla Charlotte Abigail Rebecca"
)
_WB_FAMILIES = _n(
    "Smith Jones Taylor Brown Wilson Robinson Wood Walker Thompson Wright Hall Green Hill Clarke "
    "Jackson Turner Shaw Atkinson Hudson Bentley Holmes Ackroyd Sutcliffe Barraclough Hirst Firth "
    "Lister Naylor Crowther Greenwood Hargreaves Ramsden Sykes Whiteley Cawthorne Oldroyd Marsden"
)
_BC_BOYS = _n(
    "Jermaine Tyrone Marcus Darnell Andre Kymani Tristan Jaden Kaiden Romario Rashad Keanu Devon "
    "Nathaniel Isaiah Elijah Jahmai"
)
_BC_GIRLS = _n("Shanice Tiana Keisha Aaliyah Jada Chantelle Kiara Latoya Imani Nia Shanelle")
_BC_FAMILIES = _n(
    "Campbell Williams Johnson Francis Henry Reid Grant Bailey Morgan Gordon Edwards Richards "
    "Samuels McKenzie Lewis Forbes Spence Gayle Beckford"
)
_SO_FAMILIES = _n("Abdi Hassan Farah Warsame Ali Mohamed Osman Jama Aden Elmi Dahir Nur Ismail Omar Hussein")
_NG_FAMILIES = _n("Okafor Adeyemi Okonkwo Eze Obi Adebayo Ogunleye Balogun Nwosu Afolabi Okoro Olawale Akinola Ibekwe")
_PK_FAMILIES = _n(
    "Khan Hussain Ahmed Ali Iqbal Akhtar Rashid Mahmood Shah Riaz Aslam Butt Mirza Qureshi Javed "
    "Sadiq Anwar Saleem Hanif"
)

_MUSLIM = ("Muslim",)
_CHRISTIAN_OR_NONE = ("Christian", "No religion", "Not known")

COMMUNITIES: tuple[Community, ...] = (
    Community(
        "White British",
        40,
        _WB_BOYS,
        _WB_GIRLS,
        _WB_FAMILIES,
        "W1",
        "A",
        ("WBRI", "WBRI", "WENG"),
        "English, Welsh, Scottish, Northern Irish or British",
        ("IC1",),
        ("English",),
        ("No religion", "Christian", "Not known"),
        ("British",),
        (
            "Lives with mum and two younger siblings; dad not involved.",
            "Kinship care with maternal grandparents since age 9.",
            "Family recently moved within Leeds after a housing transfer.",
        ),
        double_barrel=0.12,
    ),
    Community(
        "Pakistani",
        9,
        _n(
            "Ali Hamza Bilal Zain Ibrahim Yusuf Usman Adam Rayyan Haris Imran Zakariya Abdullah Ayaan Saad Faisal "
            "Hassan Omar Amir Mohammed"
        ),
        _n("Aisha Fatima Maryam Zainab Hafsa Iqra Khadija Amna Sana Alisha Zara Aleena Hira Noor"),
        _PK_FAMILIES,
        "A2",
        "J",
        ("APKN",),
        "Pakistani",
        ("IC4",),
        ("English", "Urdu", "Punjabi", "Mirpuri"),
        _MUSLIM,
        ("British", "British", "Pakistani"),
        (
            "Extended family live nearby; grandmother speaks Punjabi only.",
            "Attends madrassah after school on weekdays; family want the imam involved in any plan.",
        ),
        prefixes=("Mohammed", "Muhammad"),
    ),
    Community(
        "Indian",
        2.5,
        _n("Arjun Harjit Gurpreet Jaskaran Manpreet Rohan Aryan Dev Krish Vikram Ravi Jasdeep"),
        _n("Priya Anjali Simran Jaspreet Navneet Kiran Riya Asha Meera Harleen"),
        _n("Singh Patel Sharma Gill Sandhu Dhillon Bains Mistry Chauhan Kumar Sidhu Mann"),
        "A1",
        "H",
        ("AIND",),
        "Indian",
        ("IC4",),
        ("English", "Punjabi", "Gujarati"),
        ("Sikh", "Hindu", "Muslim"),
        ("British",),
        ("Family are active in the local gurdwara, which is a source of support.",),
    ),
    Community(
        "Bangladeshi",
        2,
        _n("Rahim Abdul Shahid Sayed Tanvir Rubel Jamal Kamrul Ahad Rafiq Shafiq"),
        _n("Nusrat Sumaiya Tasnim Fahmida Rumana Shirin Tahmina Lima"),
        _n("Miah Uddin Rahman Islam Hoque Chowdhury Ahmed Ullah Hossain"),
        "A3",
        "K",
        ("ABAN",),
        "Bangladeshi",
        ("IC4",),
        ("English", "Bengali (Sylheti)"),
        _MUSLIM,
        ("British",),
        ("Mother's first language is Sylheti; an interpreter is needed for meetings with her.",),
        prefixes=("Mohammed",),
    ),
    Community(
        "Black Caribbean",
        4,
        _BC_BOYS,
        _BC_GIRLS,
        _BC_FAMILIES,
        "B1",
        "M",
        ("BCRB",),
        "Caribbean",
        ("IC3",),
        ("English",),
        ("Christian", "Pentecostal Christian", "No religion"),
        ("British",),
        ("Close to grandmother, who is a key support and attends church with the family.",),
    ),
    Community(
        "Somali",
        3,
        _n("Abdirahman Abdullahi Mohamed Ahmed Hassan Yusuf Liban Mustafe Ayanle Abdikarim Hamse Guled Bashir"),
        _n("Hodan Ifrah Sagal Hibo Fadumo Ayan Amina Nimco Ubah Muna Hamdi"),
        _SO_FAMILIES,
        "B2",
        "N",
        ("BAFR",),
        "African",
        ("IC3",),
        ("Somali", "English"),
        _MUSLIM,
        ("British", "Somali", "Dutch"),
        (
            "Family came to Leeds from the Netherlands in 2016; Somali spoken at home.",
            "Older brother is the family's main contact with services.",
        ),
        patronymic=True,
    ),
    Community(
        "Nigerian",
        3,
        _n("Chinedu Oluwatobi Ayomide Tunde David Daniel Samuel Femi Chukwuemeka Oluwaseun Ikenna Kelechi Adebayo"),
        _n("Chioma Adaeze Ngozi Temitope Funmilayo Blessing Precious Favour Esther Ifeoma Oluwakemi"),
        _NG_FAMILIES,
        "B2",
        "N",
        ("BAFR",),
        "African",
        ("IC3",),
        ("English", "Yoruba", "Igbo"),
        ("Christian", "Pentecostal Christian", "Muslim"),
        ("British", "Nigerian"),
        ("Family attend a Pentecostal church where the pastor is a trusted adult for the child.",),
    ),
    Community(
        "Eritrean",
        2.5,
        _n("Yonas Dawit Filmon Robel Tesfay Amanuel Biniam Habtom Yohannes Samuel"),
        _n("Senait Selam Rahwa Feven Luwam Mebrat Saba Winta Ruth"),
        _n("Tesfamariam Gebremedhin Haile Tekle Berhane Ghebre Habte Woldu Kidane Mehari Asmerom"),
        "B2",
        "N",
        ("BAFR",),
        "African",
        ("IC3", "IC6"),
        ("Tigrinya", "English"),
        ("Orthodox Christian", "Muslim", "Catholic"),
        ("Eritrean", "British"),
        (
            "Unaccompanied asylum-seeking child, in supported accommodation; Tigrinya interpreter for formal meetings.",
            "Orthodox church attendance is important to the child; a community elder is a trusted adult.",
        ),
        interpreter=0.2,
        patronymic=True,
    ),
    Community(
        "Mixed White and Black Caribbean",
        8,
        _n("Kai Tyler Jayden Kyron Reuben Leon Nathan Jordan Marley Romeo Levi Jaylen") + _BC_BOYS[:6],
        _n("Tia Leah Kayla Ebony Skye Amara Kiara Jada Layla Maya"),
        _WB_FAMILIES + _BC_FAMILIES,
        "M1",
        "D",
        ("MWBC",),
        "White and Black Caribbean",
        ("IC3", "IC1"),
        ("English",),
        _CHRISTIAN_OR_NONE,
        ("British",),
        ("Lives with mum; has contact with dad's side of the family at weekends.",),
        double_barrel=0.2,
    ),
    Community(
        "Mixed White and Black African",
        2.5,
        _n("Kai Tobi David Daniel Jayden Zion Micah Elijah"),
        _n("Amara Zara Ebony Nia Layla Grace"),
        _WB_FAMILIES + _NG_FAMILIES + _SO_FAMILIES,
        "M2",
        "E",
        ("MWBA",),
        "White and Black African",
        ("IC3",),
        ("English",),
        _CHRISTIAN_OR_NONE + _MUSLIM,
        ("British",),
        double_barrel=0.15,
    ),
    Community(
        "Mixed White and Asian",
        2,
        _n("Zak Adam Sami Aaron Rayan Kian"),
        _n("Yasmin Layla Sofia Aleena Maya"),
        _WB_FAMILIES + _PK_FAMILIES,
        "M3",
        "F",
        ("MWAS", "MWAP"),
        "White and Asian",
        ("IC1", "IC4"),
        ("English",),
        _CHRISTIAN_OR_NONE + _MUSLIM,
        ("British",),
        double_barrel=0.15,
    ),
    Community(
        "Roma",
        5,
        _n("Dávid Patrik Marek Tomáš Lukáš Dominik Roman Jozef Martin Peter Samuel Erik Radek Denis Kevin"),
        _n("Nikola Denisa Veronika Kristína Simona Miroslava Monika Natália Sabina Vanessa Klaudia"),
        _n("Horváth Baláž Kováč Lakatoš Oláh Gažo Dunka Ferko Sivák Červeňák Pokuta Giňa Lacko Rigo Stojka Mirga"),
        "W9",
        "C",
        ("WROM", "WROR"),
        "Roma",
        ("IC1", "IC2"),
        ("Romani", "Slovak", "Czech"),
        ("Christian", "Roman Catholic", "Pentecostal Christian"),
        ("Slovak", "Czech", "British"),
        (
            "Slovak Roma family; Romani spoken at home and mum prefers a Slovak interpreter.",
            "Roma family who arrived in Leeds in 2019; the child often interprets for parents, "
            "which should not be relied on.",
        ),
        surnames="slovak",
        interpreter=0.1,
    ),
    Community(
        "Polish",
        4,
        _n("Jakub Kacper Szymon Filip Mateusz Bartosz Michał Wiktor Oliwer Aleksander Dawid Krystian Patryk"),
        _n("Zuzanna Julia Wiktoria Natalia Maja Oliwia Amelia Aleksandra Weronika Zofia Kinga"),
        _n(
            "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański Woźniak Kaczmarek Mazur "
            "Krawczyk Dąbrowski"
        ),
        "W9",
        "C",
        ("WOTH", "WEEU"),
        "Other White",
        ("IC1",),
        ("Polish", "English"),
        ("Roman Catholic",),
        ("Polish", "British"),
        ("Polish spoken at home; dad works away during the week.",),
        surnames="polish",
    ),
    Community(
        "Kurdish",
        3,
        _n("Karwan Rebin Aram Hawre Shvan Zana Azad Baran Soran Rawand Hemin Kawa"),
        _n("Shilan Roza Nazdar Avin Helin Dilan Berivan Rojin Evin"),
        _n("Ahmed Mohammed Rasul Karim Aziz Hama Omer Qadir Salih Mahmud Faraj Abdullah Rahim Amin"),
        "O9",
        "S",
        ("OOTH",),
        "Any other ethnic group",
        ("IC6", "IC2"),
        ("Kurdish (Sorani)", "Kurdish (Kurmanji)", "Arabic"),
        ("Muslim", "Yazidi", "No religion"),
        ("Iraqi", "Iranian", "Syrian", "British"),
        (
            "Iraqi Kurdish family granted refugee status in 2021; Sorani interpreter needed for parents.",
            "Arrived as an unaccompanied asylum-seeking child; age assessment completed by Leeds.",
        ),
        interpreter=0.25,
        patronymic=True,
    ),
    Community(
        "Irish Traveller",
        2.5,
        _n("John-Paul Patrick Michael Martin Johnny Tommy Christy Francie Jimmy Willie Bernard"),
        _n("Bridget Margaret Mary Kathleen Nora Winnie Chelsea Shauna Bridie"),
        _n("McDonagh Ward Connors Maughan Joyce McGinley Sweeney Doran Mongan Stokes Reilly Collins O'Brien Delaney"),
        "W3",
        "C",
        ("WIRT",),
        "Gypsy or Irish Traveller",
        ("IC1",),
        ("English",),
        ("Roman Catholic",),
        ("British", "Irish"),
        ("Irish Traveller family living on an authorised site; prefers contact through the Traveller liaison worker.",),
    ),
    Community(
        "Irish",
        1,
        _n("Seán Ciarán Niall Oisín Conor"),
        _n("Aoife Niamh Siobhan Ciara"),
        _n("Murphy Kelly O'Sullivan Byrne Doyle Kennedy McCarthy O'Neill"),
        "W2",
        "B",
        ("WIRI",),
        "Irish",
        ("IC1",),
        ("English",),
        ("Roman Catholic", "No religion"),
        ("Irish", "British"),
    ),
    Community(
        "Arab",
        2,
        _n("Ahmad Omar Khaled Mahmoud Yazan Tariq Ammar"),
        _n("Rama Lana Hala Nour Aya Sidra"),
        _n("Al-Hassan Al-Ali Haddad Saleh Nasser Al-Khatib Darwish Hamdan"),
        "O2",
        "S",
        ("OOTH",),
        "Arab",
        ("IC6",),
        ("Arabic", "English"),
        _MUSLIM,
        ("Syrian", "Sudanese", "Yemeni", "British"),
        ("Syrian family resettled in Leeds in 2017; Arabic interpreter needed for mum.",),
        interpreter=0.15,
    ),
    Community(
        "Chinese",
        0.5,
        _n("Wei Jun Hao Ming Kevin"),
        _n("Mei Xin Lily Jia"),
        _n("Li Chen Wang Zhang Liu Wong"),
        "A4",
        "R",
        ("CHNE",),
        "Chinese",
        ("IC5",),
        ("English", "Cantonese", "Mandarin"),
        ("No religion", "Buddhist", "Christian"),
        ("British", "Chinese"),
    ),
)

# Spellings and short forms that other systems record for the same name.
VARIANTS: dict[str, tuple[str, ...]] = {
    "Mohammed": ("Muhammad", "Mohammad", "Mohamed"),
    "Muhammad": ("Mohammed", "Mohammad"),
    "Mohamed": ("Mohammed", "Mohamud"),
    "Aleksander": ("Alexander", "Alex", "Olek"),
    "Aleksandra": ("Alexandra", "Ola"),
    "Alexander": ("Alex",),
    "Joshua": ("Josh",),
    "Daniel": ("Danny", "Dan"),
    "Matthew": ("Matt",),
    "Samuel": ("Sam",),
    "Benjamin": ("Ben",),
    "Thomas": ("Tom", "Tommy"),
    "James": ("Jamie",),
    "William": ("Billy", "Will"),
    "Michael": ("Mikey",),
    "Jessica": ("Jess",),
    "Rebecca": ("Becky",),
    "Abigail": ("Abbie",),
    "Charlotte": ("Charlie",),
    "Nathaniel": ("Nate",),
    "Elijah": ("Eli",),
    "Patrick": ("Paddy",),
    "Margaret": ("Maggie",),
    "Jakub": ("Kuba", "Jacob"),
    "Dawid": ("David",),
    "Filip": ("Philip",),
    "Wiktoria": ("Victoria",),
    "Oliwia": ("Olivia",),
    "Oliwer": ("Oliver",),
    "Patryk": ("Patrick",),
    "Jozef": ("Josef", "Joseph"),
    "Oluwaseun": ("Seun",),
    "Oluwatobi": ("Tobi",),
    "Temitope": ("Tope",),
    "Funmilayo": ("Funmi",),
    "Oluwakemi": ("Kemi",),
    "Chukwuemeka": ("Emeka",),
    "Abdirahman": ("Abdi", "Abdurahman"),
    "Abdullahi": ("Abdi",),
    "Yusuf": ("Yousef", "Yusef"),
    "Aisha": ("Ayesha",),
    "Fatima": ("Fatimah",),
    "Maryam": ("Mariam",),
    "Zakariya": ("Zakaria", "Zak"),
    "Aaliyah": ("Aliyah",),
    "Shanice": ("Shaniece",),
    "Jaden": ("Jayden",),
    "Kaiden": ("Kayden",),
    "Tyrone": ("Tyron",),
    "Yohannes": ("Yohanes",),
    "Hussain": ("Hussein", "Husain"),
    "Ahmed": ("Ahmad",),
    "Mahmood": ("Mahmud",),
    "Uddin": ("Udin",),
    "Hoque": ("Haque",),
    "Chowdhury": ("Choudhury",),
    "Horváth": ("Horvat",),
    "McDonagh": ("McDonough", "MacDonagh"),
    "O'Brien": ("OBrien", "O Brien"),
    "Al-Hassan": ("Alhassan", "Hassan"),
    "Al-Ali": ("Alali", "Ali"),
    "Al-Khatib": ("Alkhatib", "Khatib"),
    "Tesfamariam": ("Tesfamarian",),
    "Gebremedhin": ("Gebremedin",),
    "Ghebre": ("Gebre",),
    "Tekle": ("Tecle",),
    "Miah": ("Mia",),
    "Warsame": ("Warsama",),
}
