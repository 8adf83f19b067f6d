namespace Ttnoded.Models;

/// <summary>
/// Who may veto removing a model: the job queue and the engine pool. The model store stays ignorant of jobs; it hands
/// the unregistering step to <see cref="WhileUnused"/>, which runs it only while nothing uses the model and nothing can
/// start to.
/// </summary>
public interface IModelUsers
{
    /// <summary>
    /// Runs <paramref name="unregister"/> if no queued or running job uses <paramref name="name"/>:<paramref name="version"/>
    /// and the engine is not busy with it; otherwise throws a 409 <see cref="ModelStoreException"/> naming the users.
    /// </summary>
    void WhileUnused(string name, string version, Action unregister);
}
