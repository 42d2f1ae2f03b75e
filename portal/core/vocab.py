"""The one vocabulary: every code the portal stores, with the label people see."""

from __future__ import annotations

import enum
from typing import Self


class Coded(enum.StrEnum):
    """A stored code with a human label; members are declared as (code, label)."""

    label: str

    def __new__(cls, code: str, label: str = "") -> Self:
        """Create a member whose value is the code and which carries its label."""
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member

    @property
    def in_sentence(self) -> str:
        """The label inside a sentence: lower case first, but an acronym (BSL, DBS) kept as it is."""
        first = self.label.split(" ", 1)[0]
        return self.label if len(first) > 1 and first.isupper() else self.label[:1].lower() + self.label[1:]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return (code, label) pairs for forms."""
        return [(m.value, m.label) for m in cls]

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Return the member for a code (case and surrounding space ignored) or raise ValueError."""
        code = raw.strip().lower()
        for member in cls:
            if member.value == code:
                return member
        raise ValueError(f"unknown code {raw.strip()!r}")


class Role(Coded):
    SCHOOL = ("school", "School staff")
    EMPLOYER = ("employer", "Employer staff")
    STUDENT = ("student", "Student")
    HUB = ("hub", "Hub coordinator")


class SchoolType(Coded):
    MAINSTREAM = ("mainstream", "Mainstream school")
    SPECIAL = ("special", "Special school")
    ALTERNATIVE_PROVISION = ("alternative_provision", "Alternative provision or PRU")
    COLLEGE = ("college", "College")


class SendStatus(Coded):
    NONE = ("none", "No special educational needs")
    SEN_SUPPORT = ("sen_support", "SEN support")
    EHCP = ("ehcp", "Education, health and care plan")


class DisadvantageBasis(Coded):
    PUPIL_PREMIUM = ("pupil_premium", "Pupil premium (disadvantaged)")
    FSM_EVER6 = ("fsm_ever6", "Free school meals at any time in the last six years (FSM Ever 6)")
    FSM_CURRENT = ("fsm_current", "Free school meals now")


class Benchmark(Coded):
    BM5 = ("bm5", "Benchmark 5: encounters with employers")
    BM6 = ("bm6", "Benchmark 6: experiences of workplaces")


class ActivityType(Coded):
    CAREERS_TALK = ("careers_talk", "Careers talk")
    MENTORING = ("mentoring", "Mentoring")
    MOCK_INTERVIEW = ("mock_interview", "Mock interview")
    ENTERPRISE_CHALLENGE = ("enterprise_challenge", "Enterprise challenge")
    SPEED_NETWORKING = ("speed_networking", "Speed networking")
    INSIGHT_DAY = ("insight_day", "Insight day in school")
    VIRTUAL_ENCOUNTER = ("virtual_encounter", "Virtual encounter")
    WORKPLACE_VISIT = ("workplace_visit", "Workplace visit")
    WORK_SHADOWING = ("work_shadowing", "Work shadowing")
    WORK_EXPERIENCE = ("work_experience", "Work experience")
    HYBRID_PLACEMENT = ("hybrid_placement", "Hybrid placement")
    BUSINESS_SAFARI = ("business_safari", "Business safari")

    @property
    def benchmarks(self) -> frozenset[Benchmark]:
        """Benchmarks this activity counts towards (every workplace experience is also an encounter)."""
        if self in WORKPLACE_ACTIVITIES:
            return frozenset({Benchmark.BM5, Benchmark.BM6})
        return frozenset({Benchmark.BM5})


WORKPLACE_ACTIVITIES = frozenset(
    {
        ActivityType.WORKPLACE_VISIT,
        ActivityType.WORK_SHADOWING,
        ActivityType.WORK_EXPERIENCE,
        ActivityType.HYBRID_PLACEMENT,
        ActivityType.BUSINESS_SAFARI,
    }
)


class DeliveryMode(Coded):
    ON_SITE = ("on_site", "At the employer's site")
    IN_SCHOOL = ("in_school", "In school")
    VIRTUAL = ("virtual", "Virtual")
    HYBRID = ("hybrid", "Hybrid")


class AccessFeature(Coded):
    """SEND-ready features of an offer and, identically, a student's access needs."""

    STEP_FREE_ACCESS = ("step_free_access", "Step-free access")
    ACCESSIBLE_TOILET = ("accessible_toilet", "Accessible toilet")
    QUIET_SPACE = ("quiet_space", "Quiet space")
    SENSORY_FRIENDLY = ("sensory_friendly", "Sensory-friendly environment")
    FLEXIBLE_HOURS = ("flexible_hours", "Flexible or shorter hours")
    SUPPORTING_ADULT_WELCOME = ("supporting_adult_welcome", "Supporting adult may attend")
    AUTISM_AWARE_STAFF = ("autism_aware_staff", "Staff trained in autism or learning-disability awareness")
    BSL_MAKATON = ("bsl_makaton", "BSL or Makaton")
    EASY_READ_MATERIALS = ("easy_read_materials", "Visual or easy-read instructions")
    REMOTE_OPTION = ("remote_option", "Remote option")
    NEAR_PUBLIC_TRANSPORT = ("near_public_transport", "Near public transport")
    TRANSPORT_PROVIDED = ("transport_provided", "Transport provided")


class MeaningfulCriterion(Coded):
    """What makes an experience meaningful (CEC guidance on Benchmark 6): an offer says which it provides."""

    CLEAR_PURPOSE = ("clear_purpose", "A clear purpose shared with students beforehand")
    TWO_WAY_INTERACTION = ("two_way_interaction", "Real two-way conversation with employees")
    RANGE_OF_PEOPLE = ("range_of_people", "Meeting a range of people and roles")
    EMPLOYER_TASK = ("employer_task", "A task set by the employer")
    EMPLOYER_FEEDBACK = ("employer_feedback", "Feedback from the employer to each student")
    TIME_TO_REFLECT = ("time_to_reflect", "Time to reflect: a debrief at the end")


class Sector(Coded):
    """The National Careers Service job categories."""

    ADMINISTRATION = ("administration", "Administration")
    ANIMAL_CARE = ("animal_care", "Animal care")
    BEAUTY_WELLBEING = ("beauty_wellbeing", "Beauty and wellbeing")
    BUSINESS_FINANCE = ("business_finance", "Business and finance")
    COMPUTING_TECHNOLOGY = ("computing_technology", "Computing, technology and digital")
    CONSTRUCTION_TRADES = ("construction_trades", "Construction and trades")
    CREATIVE_MEDIA = ("creative_media", "Creative and media")
    DELIVERY_STORAGE = ("delivery_storage", "Delivery and storage")
    EMERGENCY_UNIFORMED = ("emergency_uniformed", "Emergency and uniform services")
    ENGINEERING_MAINTENANCE = ("engineering_maintenance", "Engineering and maintenance")
    ENVIRONMENT_LAND = ("environment_land", "Environment and land")
    GOVERNMENT = ("government", "Government services")
    HEALTHCARE = ("healthcare", "Healthcare")
    HOME_SERVICES = ("home_services", "Home services")
    HOSPITALITY_FOOD = ("hospitality_food", "Hospitality and food")
    LAW_LEGAL = ("law_legal", "Law and legal")
    MANAGERIAL = ("managerial", "Managerial")
    MANUFACTURING = ("manufacturing", "Manufacturing")
    RETAIL_SALES = ("retail_sales", "Retail and sales")
    SCIENCE_RESEARCH = ("science_research", "Science and research")
    SOCIAL_CARE = ("social_care", "Social care")
    SPORTS_LEISURE = ("sports_leisure", "Sports and leisure")
    TEACHING_EDUCATION = ("teaching_education", "Teaching and education")
    TRANSPORT = ("transport", "Transport")
    TRAVEL_TOURISM = ("travel_tourism", "Travel and tourism")


class OfferStatus(Coded):
    DRAFT = ("draft", "Draft")
    PUBLISHED = ("published", "Published")
    PAUSED = ("paused", "Paused")
    ARCHIVED = ("archived", "Archived")


class DisabilityConfident(Coded):
    NONE = ("none", "Not signed up")
    COMMITTED = ("committed", "Disability Confident Committed")
    EMPLOYER = ("employer", "Disability Confident Employer")
    LEADER = ("leader", "Disability Confident Leader")


class VettingStatus(Coded):
    PENDING = ("pending", "Not yet vetted")
    VETTED = ("vetted", "Vetted")
    SUSPENDED = ("suspended", "Suspended")


class Skill(Coded):
    """The eight Skills Builder Universal Framework essential skills."""

    LISTENING = ("listening", "Listening")
    SPEAKING = ("speaking", "Speaking")
    PROBLEM_SOLVING = ("problem_solving", "Problem solving")
    CREATIVITY = ("creativity", "Creativity")
    STAYING_POSITIVE = ("staying_positive", "Staying positive")
    AIMING_HIGH = ("aiming_high", "Aiming high")
    LEADERSHIP = ("leadership", "Leadership")
    TEAMWORK = ("teamwork", "Teamwork")


YEAR_GROUPS: tuple[int, ...] = tuple(range(7, 14))


def year_group_label(year: int) -> str:
    """Return 'Year 9' for 9."""
    return f"Year {year}"



class BookingStatus(Coded):
    """Booking lifecycle: requested -> confirmed -> completed, or declined / cancelled / no-show."""

    REQUESTED = ("requested", "Requested")
    CONFIRMED = ("confirmed", "Confirmed")
    DECLINED = ("declined", "Declined")
    CANCELLED = ("cancelled", "Cancelled")
    COMPLETED = ("completed", "Completed")
    NO_SHOW = ("no_show", "Did not attend")


class MatchRule(Coded):
    """A hard rule of matching other than needs, named when it alone leaves a student nothing to book."""

    YEAR_GROUP = ("year_group", "Open to the student's year group")
    DATES = ("dates", "In the dates chosen")
    FILTERS = ("filters", "Of the kinds of activity or sectors chosen")
    FULL = ("full", "A free place")
    NOTICE = ("notice", "Far enough ahead for the school's notice")
    BUSY = ("busy", "Not at a time the student is already booked")
    SUPPORTING_ADULT = ("supporting_adult", "A place for the student's supporting adult")
    DISTANCE = ("distance", "Within the distance")


class AdjustmentStatus(Coded):
    """Where a school's request that an employer provide a missing need is: asked, then yes, no or no answer."""

    PENDING = ("pending", "Waiting for an answer")
    ACCEPTED = ("accepted", "Yes")
    DECLINED = ("declined", "No")
    EXPIRED = ("expired", "No answer in time")


class PostedNeedStatus(Coded):
    """A need a school or hub posted for employers: open until an employer adds a session, it lapses or is withdrawn."""

    OPEN = ("open", "Open")
    ANSWERED = ("answered", "Answered with a session")
    EXPIRED = ("expired", "Expired")
    WITHDRAWN = ("withdrawn", "Withdrawn")


class SupportingAdultRole(Coded):
    """Who accompanies a student who must not attend without a supporting adult."""

    TEACHING_ASSISTANT = ("teaching_assistant", "Teaching assistant")
    JOB_COACH = ("job_coach", "Job coach")
    PARENT = ("parent", "Parent or carer")
    OTHER = ("other", "Other supporting adult")


class ConfirmationSource(Coded):
    """Who said whether a feature the student needed was really there: the school or the student."""

    SCHOOL = ("school", "School")
    STUDENT = ("student", "Student")


class ReflectionStatus(Coded):
    """Where a reflection is: a draft only the student sees, or submitted to staff."""

    DRAFT = ("draft", "Draft")
    SUBMITTED = ("submitted", "Submitted")


# Bookings that hold a place (and count for overlap checks).
ACTIVE_BOOKING_STATUSES = frozenset({BookingStatus.REQUESTED, BookingStatus.CONFIRMED})
# A school stays involved with a placement from the request to its outcome (not once declined or
# cancelled): it may see the risk assessment and decide on DBS for its supervisors.
INVOLVED_BOOKING_STATUSES = ACTIVE_BOOKING_STATUSES | {BookingStatus.COMPLETED, BookingStatus.NO_SHOW}


# --- compliance --------------------------------------------------------------------------------


class ComplianceKind(Coded):
    """The duties a school checks before a placement (see PRODUCT.md, "Compliance rules")."""

    RISK_ASSESSMENT = ("risk_assessment", "Risk assessment")
    INSURANCE = ("insurance", "Employer's liability insurance")
    DBS = ("dbs", "DBS decision")
    CONSENT = ("consent", "Parental consent")
    BRIEFING = ("briefing", "Student briefing")


class ItemStatus(Coded):
    """Where one compliance item stands on a given day."""

    DONE = ("done", "Done")
    TO_DO = ("to_do", "To do")
    OVERDUE = ("overdue", "Overdue")
    NOT_NEEDED = ("not_needed", "Not needed")
    DECLINED = ("declined", "Declined")


# Statuses that make a booking "at risk" and are escalated to the careers leader.
AT_RISK_STATUSES = frozenset({ItemStatus.OVERDUE, ItemStatus.DECLINED})
# Statuses that still ask someone to act.
OPEN_ITEM_STATUSES = frozenset({ItemStatus.TO_DO, ItemStatus.OVERDUE})


class ItemOwner(Coded):
    """Who must act on a compliance item (and is reminded when it is due)."""

    SCHOOL = ("school", "The school")
    EMPLOYER = ("employer", "The employer")


class InsuranceCover(Coded):
    """Where an employer's liability insurance stands today."""

    MISSING = ("missing", "Not recorded")
    EXPIRED = ("expired", "Expired")
    EXPIRING = ("expiring", "Expiring soon")
    VALID = ("valid", "Valid")


class RiskAssessmentKind(Coded):
    UPLOAD = ("upload", "Uploaded document")
    ATTESTATION = ("attestation", "Employer's own assessment (attested)")


class DbsDecision(Coded):
    NOT_REQUIRED = ("not_required", "Not required")
    CHECKED = ("checked", "Checked")


class DbsLevel(Coded):
    BASIC = ("basic", "Basic")
    STANDARD = ("standard", "Standard")
    ENHANCED = ("enhanced", "Enhanced")
    ENHANCED_BARRED = ("enhanced_barred", "Enhanced with barred list")


class ConsentDecision(Coded):
    CONSENTED = ("consented", "Consented")
    DECLINED = ("declined", "Declined")


class ImportJobStatus(Coded):
    """Where a background import is: waiting for a worker, running, or finished either way."""

    QUEUED = ("queued", "Waiting to start")
    RUNNING = ("running", "Checking and importing")
    SUCCEEDED = ("succeeded", "Finished")
    FAILED = ("failed", "Nothing was imported")

    @property
    def finished(self) -> bool:
        """Whether the job will change no more."""
        return self in (ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED)
