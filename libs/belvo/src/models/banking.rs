//! Banking objects in the multi-region (Mexico) shapes: accounts, transactions, balances, owners.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;

/// Account
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// The unique identifier created by Belvo used to reference the current account.
    pub id: Option<Uuid>,
    /// The `link.id` the account belongs to.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub link: Option<String>,
    /// Details regarding the institution.
    pub institution: Option<AccountInstitution>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The type of account.
    pub category: Option<AccountCategory>,
    /// Indicates whether this account is either an `ASSET` or a `LIABILITY`.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub balance_type: Option<String>,
    /// The account type, as designated by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The account name, as given by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The account number, as designated by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub number: Option<String>,
    /// Details regarding the current and available balances for the account.
    pub balance: Option<AccountBalance>,
    /// The currency of the account.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The public name for the type of identification.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub public_identification_name: Option<String>,
    /// The value for the `public_identification_name`.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub public_identification_value: Option<String>,
    /// The ISO-8601 timestamp of Belvo's most recent successful access to the institution for the given link.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub last_accessed_at: Option<Timestamp>,
    /// The credit options associated with this account.
    pub credit_data: Option<AccountCreditData>,
    /// The loan options associated with this account.
    pub loan_data: Option<AccountLoanData>,
    /// One or more funds that contribute to the the pension account.
    pub funds_data: Option<Vec<AccountFundsData>>,
    /// Additional details regarding the receivables account, if applicable.
    pub receivables_data: Option<AccountReceivablesData>,
    /// *This field has been deprecated.* *The institution's product ID for the account type.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub bank_product_id: Option<String>,
    /// *This field has been deprecated.* *The institution's internal identification for the account.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub internal_identification: Option<String>,
    /// The branch (agency) number, for Brazilian accounts (in Belvo's examples, not its schema).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub agency: Option<String>,
}

/// Transaction
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Transaction {
    /// Belvo's unique ID for the transaction.
    pub id: Option<Uuid>,
    /// The institution's internal identification for the transaction.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub internal_identification: Option<String>,
    /// Details regarding the account.
    pub account: Option<Account>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The date when the transaction occurred, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub value_date: Option<NaiveDate>,
    /// The ISO timestamp when the transaction was processed and accounted for by the institution.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub accounting_date: Option<Timestamp>,
    /// The transaction amount.
    pub amount: Option<Decimal>,
    /// The balance at the end of the transaction.
    pub balance: Option<Decimal>,
    /// The three-letter currency code (ISO-4217).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The description of transaction provided by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub description: Option<String>,
    /// Additional observations provided by the institution on the transaction.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub observations: Option<String>,
    /// Additional data regarding the merchant involved in the transaction.
    pub merchant: Option<Merchant>,
    /// The name of the category to which this transaction belongs.
    pub category: Option<TransactionCategory>,
    /// The transactions subcategory.
    pub subcategory: Option<TransactionSubcategory>,
    /// The reference number of the transaction, provided by the bank.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub reference: Option<String>,
    /// The direction of the transaction: - `INFLOW` indicates money coming into the account.
    pub r#type: Option<TransactionType>,
    /// The status of the transaction.
    pub status: Option<TransactionStatus>,
    /// Additional data provided by the institution for credit card transactions.
    pub credit_card_data: Option<TransactionCreditCardData>,
}

/// Balance
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Balance {
    /// Belvo's unique ID for the balance request.
    pub id: Option<Uuid>,
    /// Details regarding the account.
    pub account: Option<Account>,
    /// The date when the `balance` was available, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub value_date: Option<NaiveDate>,
    /// The funds available in the account by the end of the `value_date`.
    pub balance: Option<Decimal>,
    /// *This field has been deprecated.
    /// Deprecated by Belvo.
    pub current_balance: Option<Decimal>,
    /// *This field has been deprecated.* *The ID of the banking statement used to extract the `balance`.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub statement: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
}

/// Owner
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Owner {
    /// Belvo's unique identifier used to reference the current owner.
    pub id: Option<Uuid>,
    /// Belvo's unique ID for the current Link.
    pub link: Option<Uuid>,
    /// The institution's internal identifier for the owner.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub internal_identification: Option<String>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The full name of the owner, as provided by the bank.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub display_name: Option<String>,
    /// The account owner's registered email address.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub email: Option<String>,
    /// The account owner's registered phone number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub phone_number: Option<String>,
    /// The accounts owners registered address.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub address: Option<String>,
    /// Information regarding the identification document the owner provided to the bank.
    pub document_id: Option<OwnerDocumentId>,
    /// *This field has been deprecated.* *The last name of the account owner.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub last_name: Option<String>,
    /// *This field has been deprecated.* *The second last name of the account owner.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub second_last_name: Option<String>,
    /// *This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub business_name: Option<String>,
    /// *This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub first_name: Option<String>,
}

/// AccountInstitution
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountInstitution {
    /// The name of the institution, as designated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The type of institution.
    pub r#type: Option<InstitutionType>,
}

/// AccountBalance
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountBalance {
    /// The current balance is calculated differently according to the type of account.
    pub current: Option<Decimal>,
    /// The balance that the account owner can use.
    pub available: Option<Decimal>,
}

/// AccountCreditData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountCreditData {
    /// The maximum amount of credit the owner can receive.
    pub credit_limit: Option<Decimal>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The closing date of the credit period.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub cutting_date: Option<String>,
    /// The due date for the next payment (`YYYY-MM-DD`).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub next_payment_date: Option<String>,
    /// The minimum amount to be paid on the `next_payment_date`.
    pub minimum_payment: Option<Decimal>,
    /// The minimum amount required to pay to avoid generating interest.
    pub no_interest_payment: Option<Decimal>,
    /// The annualized interest rate of the credit.
    pub interest_rate: Option<Decimal>,
    /// *This field has been deprecated.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub end_date: Option<String>,
    /// *This field has been deprecated.* *The recurrent monthly payment, if applicable.*.
    /// Deprecated by Belvo.
    pub monthly_payment: Option<Decimal>,
    /// *This field has been deprecated.* *The date when the last credit payment was made.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub last_payment_date: Option<String>,
    /// The balance at the end of the last billing period (in Belvo's examples, not its schema).
    pub last_period_balance: Option<Decimal>,
}

/// AccountLoanData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountLoanData {
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The initial total loan amount, calculated by the institution, when the contract was signed.
    pub contract_amount: Option<Decimal>,
    /// Total amount of the loan (the amount the user receives).
    pub principal: Option<Decimal>,
    /// The type of the loan, according to the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub loan_type: Option<String>,
    /// The day of the month by which the owner needs to pay the loan (`YYYY-MM-DD`).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_day: Option<String>,
    /// Outstanding loan amount, that is, how much remains to pay on the principal (not including interest).
    pub outstanding_principal: Option<Decimal>,
    /// The amount remaining to pay in total, including interest.
    pub outstanding_balance: Option<Decimal>,
    /// The recurrent monthly payment, if applicable.
    pub monthly_payment: Option<Decimal>,
    /// Breakdown of the interest applied to the loan.
    pub interest_rates: Option<Vec<LoanInterestRate>>,
    /// Breakdown of the fees applied to the loan.
    pub fees: Option<Vec<LoanFee>>,
    /// The total number of installments required to pay the loan.
    pub number_of_installments_total: Option<i64>,
    /// The number of installments left to pay.
    pub number_of_installments_outstanding: Option<i64>,
    /// The date when the loan contract was signed (`YYYY-MM-DD`).
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub contract_start_date: Option<NaiveDate>,
    /// The date when the loan is expected to be completed.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub contract_end_date: Option<NaiveDate>,
    /// The contract number of the loan, as given by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub contract_number: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    pub credit_limit: Option<Decimal>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    pub last_period_balance: Option<Decimal>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    pub interest_rate: Option<Decimal>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub limit_day: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub cutting_day: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub cutting_date: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub last_payment_date: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    pub no_interest_payment: Option<Decimal>,
}

/// AccountFundsData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountFundsData {
    /// The pension fund name.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// Type of pension fund.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The fund's public IDs.
    pub public_identifications: Option<Vec<AccountFundsPublicIdentification>>,
    /// The amount in the fund.
    pub balance: Option<Decimal>,
    /// How much this fund, as a percentage, contributes to the pension account's total.
    pub percentage: Option<Decimal>,
    /// When the fund's data was collected (in Belvo's examples, not its schema).
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
}

/// AccountReceivablesData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountReceivablesData {
    /// The total sum of all receivables (`available` + `anticipated`).
    pub current: Option<Decimal>,
    /// The amount that the owner of the account will receive according to an established date.
    pub available: Option<Decimal>,
    /// The amount that the owner of the account received earlier than contracted.
    pub anticipated: Option<Decimal>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
}

/// Merchant
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Merchant {
    /// The URL to the merchant's logo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub logo: Option<String>,
    /// The URL to the merchant's website.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub website: Option<String>,
    /// The name of the merchant.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub merchant_name: Option<String>,
}

/// TransactionCreditCardData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionCreditCardData {
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The title of the monthly credit card bill the transaction belongs to.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub bill_name: Option<String>,
    /// The status of the bill that the transaction appears on.
    pub bill_status: Option<TransactionBillStatus>,
    /// The aggregate bill amount, as of `collected_at`.
    pub bill_amount: Option<Decimal>,
    /// The total amount of the previous month's bill, if available.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub previous_bill_total: Option<String>,
}

/// OwnerDocumentId
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OwnerDocumentId {
    /// The type of document the owner provided to the institution to open the account.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub document_type: Option<String>,
    /// The document's identification number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub document_number: Option<String>,
}

/// LoanInterestRate
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoanInterestRate {
    /// The name of the type of interest rate applied to the loan.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The period that the interest is applied to the loan.
    pub r#type: Option<LoanDataInterestRateType>,
    /// The interest rate (in percent or currency value).
    pub value: Option<Decimal>,
}

/// LoanFee
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoanFee {
    /// The type of fee.
    pub r#type: Option<LoanDataFeeType>,
    /// The total value of the fee.
    pub value: Option<Decimal>,
}

/// AccountFundsPublicIdentification
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountFundsPublicIdentification {
    /// The type of identification number for the fund.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The fund's identification number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub value: Option<String>,
}

string_enum! {
    /// AccountCategory
    pub enum AccountCategory {
        CheckingAccount = "CHECKING_ACCOUNT",
        CreditCard = "CREDIT_CARD",
        InvestmentAccount = "INVESTMENT_ACCOUNT",
        LoanAccount = "LOAN_ACCOUNT",
        PensionFundAccount = "PENSION_FUND_ACCOUNT",
        ReceivablesAccount = "RECEIVABLES_ACCOUNT",
        SavingsAccount = "SAVINGS_ACCOUNT",
        Uncategorized = "UNCATEGORIZED",
    }
}

string_enum! {
    /// TransactionCategory
    pub enum TransactionCategory {
        BillsAndUtilities = "Bills & Utilities",
        CreditsAndLoans = "Credits & Loans",
        Deposits = "Deposits",
        FeesAndCharges = "Fees & Charges",
        FoodAndGroceries = "Food & Groceries",
        HomeAndLife = "Home & Life",
        IncomeAndPayments = "Income & Payments",
        Insurance = "Insurance",
        InvestmentsAndSavings = "Investments & Savings",
        OnlinePlatformsAndLeisure = "Online Platforms & Leisure",
        PersonalShopping = "Personal Shopping",
        Taxes = "Taxes",
        Transfers = "Transfers",
        TransportAndTravel = "Transport & Travel",
        Unknown = "Unknown",
        WithdrawalAndATM = "Withdrawal & ATM",
    }
}

string_enum! {
    /// TransactionSubcategory
    pub enum TransactionSubcategory {
        ElectricityAndEnergy = "Electricity & Energy",
        Rent = "Rent",
        Telecommunications = "Telecommunications",
        Water = "Water",
        Auto = "Auto",
        CreditCard = "Credit Card",
        Instalment = "Instalment",
        InterestAndCharges = "Interest & Charges",
        Mortgage = "Mortgage",
        PayAdvance = "Pay Advance",
        Personal = "Personal",
        Adjustments = "Adjustments",
        BankFees = "Bank Fees",
        Chargeback = "Chargeback",
        Refund = "Refund",
        BlockedBalances = "Blocked Balances",
        Alimony = "Alimony",
        AlcoholAndTobacco = "Alcohol & Tobacco",
        BakeryAndCoffee = "Bakery & Coffee",
        BarsAndNightclubs = "Bars & Nightclubs",
        ConvenienceStore = "Convenience Store",
        Delivery = "Delivery",
        Groceries = "Groceries",
        Restaurants = "Restaurants",
        Education = "Education",
        GymsAndFitness = "Gyms & Fitness",
        HairAndBeauty = "Hair & Beauty",
        Health = "Health",
        HomeDecorAndAppliances = "Home Decor & Appliances",
        LaundryAndDryCleaning = "Laundry & Dry Cleaning",
        Pharmacies = "Pharmacies",
        ProfessionalServices = "Professional Services",
        VeterinaryServices = "Veterinary Services",
        Freelance = "Freelance",
        Interest = "Interest",
        Retirement = "Retirement",
        Salary = "Salary",
        Government = "Government",
        HomeInsurance = "Home Insurance",
        AutoInsurance = "Auto Insurance",
        HealthAndLifeInsurance = "Health & Life Insurance",
        Savings = "Savings",
        FixedIncome = "Fixed income",
        Equity = "Equity",
        InvestmentFunds = "Investment Funds",
        Derivatives = "Derivatives",
        Cryptocurrencies = "Cryptocurrencies",
        AppsSoftwareAndCloudServices = "Apps, Software and Cloud Services",
        EventsParksAndMuseums = "Events, Parks and Museums",
        Gambling = "Gambling",
        Gaming = "Gaming",
        Lottery = "Lottery",
        MovieAndAudio = "Movie & Audio",
        BooksAndNews = "Books & News",
        ClothingAndAccessories = "Clothing & Accessories",
        DepartmentStore = "Department Store",
        Electronics = "Electronics",
        ECommerce = "E-commerce",
        Gifts = "Gifts",
        OfficeSupplies = "Office Supplies",
        PetSupplies = "Pet Supplies",
        AutoTaxAndFees = "Auto Tax & Fees",
        Donation = "Donation",
        GovernmentFees = "Government Fees",
        IncomeTax = "Income Tax",
        RealEstateTaxAndFees = "Real Estate Tax & Fees",
        TaxReturn = "Tax Return",
        Accommodation = "Accommodation",
        AutoExpenses = "Auto Expenses",
        AutoRental = "Auto Rental",
        Flights = "Flights",
        Gas = "Gas",
        MileagePrograms = "Mileage Programs",
        ParkingAndTolls = "Parking & Tolls",
        PublicTransit = "Public Transit",
        TaxisAndRideshares = "Taxis & Rideshares",
        Other = "Other",
    }
}

string_enum! {
    /// TransactionType
    pub enum TransactionType {
        Outflow = "OUTFLOW",
        Inflow = "INFLOW",
    }
}

string_enum! {
    /// TransactionStatus
    pub enum TransactionStatus {
        Pending = "PENDING",
        Processed = "PROCESSED",
        Uncategorized = "UNCATEGORIZED",
    }
}

string_enum! {
    /// InstitutionType
    pub enum InstitutionType {
        Bank = "bank",
        Fiscal = "fiscal",
        Employment = "employment",
    }
}

string_enum! {
    /// TransactionBillStatus
    pub enum TransactionBillStatus {
        Paid = "PAID",
        Closed = "CLOSED",
        Open = "OPEN",
        Future = "FUTURE",
    }
}

string_enum! {
    /// LoanDataInterestRateType
    pub enum LoanDataInterestRateType {
        Monthly = "MONTHLY",
        Yearly = "YEARLY",
    }
}

string_enum! {
    /// LoanDataFeeType
    pub enum LoanDataFeeType {
        OperationFee = "OPERATION_FEE",
        InsuranceFee = "INSURANCE_FEE",
        Others = "OTHERS",
    }
}
