# The original README's three online classes (50 seats each, no student in
# two classes): several item repositories, one deduplication repository.
import storagebox

class_1_codes = storagebox.ItemBankDynamoDbRepository(table_name="class_1_codes")
class_2_codes = storagebox.ItemBankDynamoDbRepository(table_name="class_2_codes")
class_3_codes = storagebox.ItemBankDynamoDbRepository(table_name="class_3_codes")
deduplication_repo = storagebox.DeduplicationDynamoDbRepository(
    table_name="myonline_classes_deduplication_table")

class_1_codes.batch_add_items([str(i) for i in range(0, 50)])
class_2_codes.batch_add_items([str(i) for i in range(50, 100)])
class_3_codes.batch_add_items([str(i) for i in range(100, 150)])

# From your web server
deduplicators = {
    'class_1': storagebox.Deduplicator(item_repo=class_1_codes,
                                       deduplication_repo=deduplication_repo),
    'class_2': storagebox.Deduplicator(item_repo=class_2_codes,
                                       deduplication_repo=deduplication_repo),
    'class_3': storagebox.Deduplicator(item_repo=class_3_codes,
                                       deduplication_repo=deduplication_repo),
}
student_id, requested_class = "student-7", "class_2"
seat = deduplicators[requested_class].fetch_item_for_deduplication_id(
    deduplication_id=student_id)
# Asking another class gives the same seat back: one class per student.
assert deduplicators['class_3'].fetch_item_for_deduplication_id(
    deduplication_id=student_id) == seat
print(student_id, "has seat", seat)
