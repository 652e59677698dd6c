using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace WorkOrders.Ticketing.Access;

/// <summary>
/// ASP.NET Core's data-protection key ring, kept in PostgreSQL (table data_protection_keys) instead of a folder of the
/// machine, so that every app instance on the database reads and writes one ring: a cookie or token issued by one
/// instance is read by another, and by the same one after a restart. Two instances that each make the first key at
/// once both store theirs; the ring then holds both, and either reads what the other protected.
/// </summary>
public sealed class DataProtectionKeys(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = dataSource.OpenConnection();
        return connection.Query<string>("SELECT xml FROM data_protection_keys ORDER BY id").Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = dataSource.OpenConnection();
        connection.Execute(
            "INSERT INTO data_protection_keys (friendly_name, xml) VALUES (@friendlyName, @xml) ON CONFLICT (friendly_name) DO NOTHING",
            new { friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) });
    }
}
